import type { LogLevel } from "../config/config.js";
import { type AccessFields, AccessLogWriter } from "./access-log-writer.js";
import type { Logger } from "./create-logger.js";
import type { LogFormat } from "./log-format.js";

/** Where http/access-log.ts sends its one line per request. */
export interface AccessLog {
  write(fields: AccessFields): void;
  flush(): void;
}

/**
 * Request classes a person at a terminal does not need a line for when they succeed: the
 * UI's pages and assets (a page load is dozens of requests) and probes. MLflow API calls
 * and every failure are always shown.
 */
const ROUTINE_CLASSES = new Set(["ui", "health", "gateway"]);

/**
 * JSON lines go through AccessLogWriter (fast: the benchmark's path); readable lines go
 * through the operational logger and its winston format, where speed matters less than
 * one consistent look.
 */
export function createAccessLog(level: LogLevel, format: LogFormat, logger: Logger, stream?: NodeJS.WritableStream): AccessLog {
  if (format === "json") return new AccessLogWriter(level, stream);
  return {
    write(fields) {
      const status = typeof fields["status"] === "number" ? fields["status"] : 0;
      const routine = ROUTINE_CLASSES.has(String(fields["class"])) && status < 400;
      const duration = typeof fields["durationMs"] === "number" ? ` ${fields["durationMs"].toFixed(1)} ms` : "";
      logger.log(routine ? "debug" : "info", `${String(fields["method"])} ${String(fields["path"])} ${String(status)}${duration}`, {
        source: "access",
        operation: fields["operation"],
        error: fields["error"],
        aborted: fields["aborted"],
      });
    },
    flush() {
      // winston writes each line as it comes.
    },
  };
}
