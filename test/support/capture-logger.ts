import { PassThrough } from "node:stream";
import { createLogger, type Logger } from "../../src/log/create-logger.js";

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

/** A real winston logger whose JSON lines are parsed into `lines` for assertions. */
export function captureLogger(): CapturedLog {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  let pending = "";
  stream.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      lines.push(JSON.parse(pending.slice(0, newline)) as Record<string, unknown>);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  });
  return { logger: createLogger("debug", { stream }), lines };
}
