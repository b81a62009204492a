import winston from "winston";
import type { LogLevel } from "../config/config.js";

export type Logger = winston.Logger;

/** Bounds any single string we log, so a hostile header or a runaway child line stays one short line. */
export const MAX_LOG_STRING = 4_096;

/**
 * Operational log: JSON lines on stdout (Databricks Apps captures stdout). Every line
 * carries `time`, `level`, `message` and a `source` ("gateway", "mlflow", "access").
 */
export function createLogger(level: LogLevel, stream: NodeJS.WritableStream = process.stdout): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { source: "gateway" },
    format: winston.format.combine(stampTime(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** ISO-8601 UTC time under `time` (winston's own timestamp format keeps a second key). */
const stampTime = winston.format((info) => {
  info["time"] = new Date().toISOString();
  return info;
});

/**
 * Ends the logger and waits until everything queued has been handed to the stream,
 * so the last lines of a shutdown are not lost when the process exits.
 */
export async function flushLogger(logger: Logger, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    logger.on("finish", () => {
      clearTimeout(timer);
      resolve();
    });
    logger.end();
  });
}

/**
 * Masks credentials that a child's error message may quote: the password in a URI
 * (sqlalchemy prints connection strings), bearer tokens, Databricks tokens, JWTs.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(:\/\/[^/:@\s]*:)[^@/\s]*@/g, "$1***@")
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, "$1***")
    .replace(/\bdapi[0-9a-f]{16,}(-\d+)?\b/gi, "dapi***")
    .replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, "***jwt***");
}

/** Strips control characters (no forged log lines) and bounds length. */
export function cleanForLog(value: string, max = MAX_LOG_STRING): string {
  const clean = value.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, " ");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
