import type { Readable } from "node:stream";
import { cleanForLog, type Logger, redactSecrets } from "../log/create-logger.js";

/** How many recent child lines are kept to explain a crash. */
export const RECENT_LINES_KEPT = 20;
/** A longer line is cut here: a line without an end (a plugin dumping binary) must not fill memory. */
export const MAX_LINE_BYTES = 16 * 1024;
/** At most this many child lines are logged per second; the rest are counted and reported once a second. */
export const MAX_LINES_PER_SECOND = 500;
const WINDOW_MS = 1_000;

/** Python tags its log lines; map them so an MLflow traceback is an error in our log too. */
function levelOf(line: string): "error" | "warn" | "info" {
  if (/\b(ERROR|CRITICAL|FATAL)\b|^Traceback|Error:/.test(line)) return "error";
  if (/\bWARN(ING)?\b/.test(line)) return "warn";
  return "info";
}

/**
 * Forwards each line the child prints into the structured log, tagged as coming from
 * mlflow, and remembers the last few for crash reports. A misbehaving child (a plugin
 * printing in a loop, or megabytes without a newline) cannot grow the gateway's memory:
 * lines are cut at MAX_LINE_BYTES, and beyond MAX_LINES_PER_SECOND lines are counted
 * instead of logged, with one warning per second saying how many were left out.
 */
export class ChildOutput {
  readonly #recent: string[] = [];
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #infoLevel: "info" | "debug";
  #windowStart = 0;
  #loggedInWindow = 0;
  #droppedInWindow = 0;

  /**
   * infoLevel: where the child's routine lines (uvicorn's start-up, MLflow's notices) go.
   * At a terminal they are debug: a person wants the gateway's ready line, not uvicorn's
   * chatter; warnings and errors are always shown.
   */
  constructor(logger: Logger, options: { now?: () => number; infoLevel?: "info" | "debug" } = {}) {
    this.#logger = logger;
    this.#now = options.now ?? Date.now;
    this.#infoLevel = options.infoLevel ?? "info";
  }

  attach(stream: Readable | null | undefined, name: "stdout" | "stderr", pid: number | undefined): void {
    if (!stream) return;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let cut = 0;
    const finishLine = (): void => {
      const text = Buffer.concat(pending).toString("utf8").replace(/\r$/, "");
      pending = [];
      pendingBytes = 0;
      this.#line(text, cut, name, pid);
      cut = 0;
    };
    stream.on("data", (chunk: Buffer) => {
      let start = 0;
      for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
        keep(chunk.subarray(start, newline));
        finishLine();
        start = newline + 1;
      }
      keep(chunk.subarray(start));
    });
    stream.once("end", () => {
      if (pendingBytes > 0 || cut > 0) finishLine();
      this.#flushDropped(name, pid);
    });
    function keep(part: Buffer): void {
      const room = MAX_LINE_BYTES - pendingBytes;
      if (part.length > room) {
        cut += part.length - Math.max(0, room);
        if (room > 0) part = part.subarray(0, room);
        else return;
      }
      // Copied: a slice would keep the whole chunk it came from alive.
      pending.push(Buffer.from(part));
      pendingBytes += part.length;
    }
  }

  recent(): string[] {
    return [...this.#recent];
  }

  clear(): void {
    this.#recent.length = 0;
  }

  #line(raw: string, cut: number, name: "stdout" | "stderr", pid: number | undefined): void {
    const clean = redactSecrets(cleanForLog(raw));
    const line = cut > 0 ? `${clean} [... ${cut} more bytes cut]` : clean;
    if (line.trim() === "") return;
    this.#recent.push(line);
    if (this.#recent.length > RECENT_LINES_KEPT) this.#recent.shift();
    const now = this.#now();
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#flushDropped(name, pid);
      this.#windowStart = now;
      this.#loggedInWindow = 0;
    }
    const tagged = levelOf(line);
    const level = tagged === "info" ? this.#infoLevel : tagged;
    if (this.#loggedInWindow >= MAX_LINES_PER_SECOND) {
      this.#droppedInWindow += 1;
      return;
    }
    this.#loggedInWindow += 1;
    this.#logger.log(level, line, { source: "mlflow", stream: name, pid });
  }

  #flushDropped(name: "stdout" | "stderr", pid: number | undefined): void {
    if (this.#droppedInWindow === 0) return;
    this.#logger.warn(
      `mlflow printed ${this.#droppedInWindow} more lines in one second than the gateway logs (${MAX_LINES_PER_SECOND}/s); they were left out`,
      {
        source: "gateway",
        stream: name,
        pid,
        droppedLines: this.#droppedInWindow,
      },
    );
    this.#droppedInWindow = 0;
  }
}
