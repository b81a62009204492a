import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { ChildOutput, MAX_LINE_BYTES, MAX_LINES_PER_SECOND, RECENT_LINES_KEPT } from "../../../src/supervisor/child-output.js";
import { captureLogger } from "../../support/capture-logger.js";

function ended(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => stream.once("end", () => setImmediate(resolve)));
}

/** Sends `text` as the child's whole stderr and waits until every line is logged. */
async function feedStderr(output: ChildOutput, text: string): Promise<void> {
  const stream = new PassThrough();
  output.attach(stream, "stderr", 42);
  const done = ended(stream);
  stream.end(text);
  await done;
  await new Promise((resolve) => setImmediate(resolve));
}

describe("child output", () => {
  it("logs each line with its level and keeps the last few for crash reports", async () => {
    const { logger, lines } = captureLogger();
    const output = new ChildOutput(logger);
    await feedStderr(output, "INFO starting\r\nTraceback (most recent call last):\nWARNING: slow\n\npartial line without newline");
    const mlflow = lines.filter((l) => l["source"] === "mlflow");
    assert.deepEqual(
      mlflow.map((l) => [l["level"], l["message"]]),
      [
        ["info", "INFO starting"],
        ["error", "Traceback (most recent call last):"],
        ["warn", "WARNING: slow"],
        ["info", "partial line without newline"],
      ],
    );
    assert.equal(output.recent().length, 4);
  });

  it("at a terminal, puts the child's routine lines at debug and still shows its warnings and errors", async () => {
    const { logger, lines } = captureLogger();
    const output = new ChildOutput(logger, { infoLevel: "debug" });
    await feedStderr(output, "INFO:     Uvicorn running on http://127.0.0.1:5001\nWARNING: slow\nERROR: broken\n");
    assert.deepEqual(
      lines.filter((l) => l["source"] === "mlflow").map((l) => l["level"]),
      ["debug", "warn", "error"],
    );
    assert.equal(output.recent().length, 3, "crash reports keep every line, whatever its level");
  });

  it("a line without an end is cut, so 64 MB of it cannot fill the gateway's memory", async () => {
    const { logger, lines } = captureLogger();
    const output = new ChildOutput(logger);
    const stream = new PassThrough();
    output.attach(stream, "stdout", 1);
    const done = ended(stream);
    const before = process.memoryUsage().heapUsed;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 64; i += 1) stream.write(chunk);
    const growth = process.memoryUsage().heapUsed - before;
    stream.end("\n");
    await done;
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l["source"] === "mlflow");
    assert.equal(logged.length, 1);
    const message = String(logged[0]?.["message"]);
    assert.ok(message.length < MAX_LINE_BYTES + 100, `logged ${message.length} characters`);
    // The logger shortens long values itself; what the gateway cut is said at the end.
    assert.match(message, new RegExp(`\\[\\.\\.\\. ${64 * 1024 * 1024 - MAX_LINE_BYTES} more bytes cut\\]$`));
    assert.ok(growth < 16 * 1024 * 1024, `the heap grew by ${(growth / 1e6).toFixed(1)} MB while 64 MB streamed past`);
  });

  it("a flood of lines is logged up to the per-second budget, and the rest is counted in one warning", async () => {
    const { logger, lines } = captureLogger();
    let now = 1_000_000;
    const output = new ChildOutput(logger, { now: () => now });
    const stream = new PassThrough();
    output.attach(stream, "stdout", 7);
    const done = ended(stream);
    const flood = Array.from({ length: 20_000 }, (_, i) => `plugin says ${i}`).join("\n");
    stream.write(`${flood}\n`);
    now += 1_500;
    stream.end("after the flood\n");
    await done;
    await new Promise((resolve) => setImmediate(resolve));
    const mlflow = lines.filter((l) => l["source"] === "mlflow");
    assert.equal(mlflow.length, MAX_LINES_PER_SECOND + 1, "the budget, then the next second's line");
    assert.equal(mlflow.at(-1)?.["message"], "after the flood");
    const warning = lines.find((l) => l["droppedLines"] !== undefined);
    assert.equal(warning?.["droppedLines"], 20_000 - MAX_LINES_PER_SECOND);
    assert.match(String(warning?.["message"]), /left out/);
    assert.equal(output.recent().length, RECENT_LINES_KEPT, "crash reports still see the last lines");
    assert.equal(output.recent().at(-1), "after the flood");
  });
});
