import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { cleanForLog, type Logger, redactSecrets } from "../log/create-logger.js";

/** How many recent child lines are kept to explain a crash. */
export const RECENT_LINES_KEPT = 20;

/** Python tags its log lines; map them so an MLflow traceback is an error in our log too. */
function levelOf(line: string): "error" | "warn" | "info" {
  if (/\b(ERROR|CRITICAL|FATAL)\b|^Traceback|Error:/.test(line)) return "error";
  if (/\bWARN(ING)?\b/.test(line)) return "warn";
  return "info";
}

/**
 * Forwards each line the child prints into the structured log, tagged as coming from
 * mlflow, and remembers the last few for crash reports.
 */
export class ChildOutput {
  readonly #recent: string[] = [];

  constructor(private readonly logger: Logger) {}

  attach(stream: Readable | null | undefined, name: "stdout" | "stderr", pid: number | undefined): void {
    if (!stream) return;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on("line", (raw) => {
      const line = redactSecrets(cleanForLog(raw));
      if (line.trim() === "") return;
      this.#recent.push(line);
      if (this.#recent.length > RECENT_LINES_KEPT) this.#recent.shift();
      this.logger.log(levelOf(line), line, { source: "mlflow", stream: name, pid });
    });
  }

  recent(): string[] {
    return [...this.#recent];
  }

  clear(): void {
    this.#recent.length = 0;
  }
}
