import winston from "winston";
import type { LogLevel } from "../config/config.js";
import { type LogFormat, streamHasColors } from "./log-format.js";
import { prettyFormat } from "./pretty-format.js";

export type Logger = winston.Logger;

/** Bounds any single string we log, so a hostile header or a runaway child line stays one short line. */
export const MAX_LOG_STRING = 4_096;

export interface LoggerOptions {
  /** JSON lines (default: what Databricks Apps collects) or short readable lines for a terminal. */
  format?: LogFormat;
  stream?: NodeJS.WritableStream;
  /** ANSI colours in the readable format; default: when the stream is a terminal that has them. */
  colors?: boolean;
}

/**
 * Operational log on stdout. As JSON lines every line carries `time`, `level`, `message`
 * and a `source` ("gateway", "mlflow", "access"); the readable format (log/log-format.ts
 * decides which) prints the same events as `time level source message key=value`.
 */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stdout;
  const format =
    options.format === "pretty"
      ? prettyFormat(options.colors ?? streamHasColors(stream))
      : winston.format.combine(stampTime(), winston.format.json());
  return winston.createLogger({
    level,
    defaultMeta: { source: "gateway" },
    format,
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

/** Configured secret values shorter than this are not searched for (they would match ordinary text). */
const MIN_KNOWN_SECRET_LENGTH = 8;
let knownSecrets: readonly string[] = [];

/**
 * The exact secret values this gateway was configured with (client secret, PAT, audit
 * key), masked wherever redactSecrets runs, whatever their shape. Set once at start.
 */
export function setKnownSecrets(values: ReadonlyArray<string | undefined>): void {
  knownSecrets = [...new Set(values.filter((v): v is string => v !== undefined && v.length >= MIN_KNOWN_SECRET_LENGTH))].sort(
    (a, b) => b.length - a.length,
  );
}

/**
 * Masks credentials in text the gateway passes on but did not write: the child's output
 * and the child's error answers to clients. A library, proxy or workspace that quotes a
 * request back (an error naming the failing call) would otherwise put a token in the log
 * or in a user's browser. Two nets: the configured values (setKnownSecrets), and the
 * shapes credentials take whatever their value, since the child mints its own tokens: the
 * password in a URI (sqlalchemy prints connection strings), bearer and basic credentials,
 * JWTs, Databricks PATs and OAuth secrets, and secret-named form and JSON fields.
 */
export function redactSecrets(text: string): string {
  let result = text;
  for (const value of knownSecrets) if (result.includes(value)) result = result.split(value).join("***");
  return result
    .replace(/(:\/\/[^/:@\s]*:)[^@/\s]*@/g, "$1***@")
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, "$1***")
    .replace(/(basic\s+)[A-Za-z0-9+/=]{8,}/gi, "$1***")
    .replace(/\bdapi[0-9a-f]{16,}(-\d+)?\b/gi, "dapi***")
    .replace(/\bdose[0-9A-Za-z]{16,}\b/g, "dose***")
    .replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, "***jwt***")
    .replace(/\b(client_secret|access_token|refresh_token|id_token|password)=[^&\s"']+/gi, "$1=***")
    .replace(/("(?:client_secret|access_token|refresh_token|id_token|password)"\s*:\s*)"[^"]*"/gi, '$1"***"');
}

/** Strips control characters (no forged log lines) and bounds length. */
export function cleanForLog(value: string, max = MAX_LOG_STRING): string {
  const clean = value.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, " ");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
