import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { AccessLogWriter } from "../../../src/log/access-log-writer.js";

function sink(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString("utf8"));
      done();
    },
  });
  return { stream, writes };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("AccessLogWriter", () => {
  it("writes the lines of one event-loop turn in one write, in the operational log's shape", async () => {
    const { stream, writes } = sink();
    const writer = new AccessLogWriter("info", stream);
    writer.write({ source: "access", requestId: "r1", status: 200, error: undefined });
    writer.write({ source: "access", requestId: "r2", status: 503, error: "CHILD_NOT_READY" });
    assert.equal(writes.length, 0, "nothing is written synchronously");
    await nextTurn();
    await nextTurn();
    assert.equal(writes.length, 1);
    const lines = (writes[0] ?? "").split("\n");
    assert.equal(lines.pop(), "", "every line ends with a newline");
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(Object.keys(first ?? {}).sort(), ["level", "message", "requestId", "source", "status", "time"]);
    assert.equal(first?.["level"], "info");
    assert.equal(first?.["message"], "request");
    assert.match(String(first?.["time"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(second?.["error"], "CHILD_NOT_READY");

    writer.write({ source: "access", requestId: "r3" });
    writer.flush();
    assert.equal(writes.length, 2, "flush writes what is pending at once (shutdown)");
    await nextTurn();
    assert.equal(writes.length, 2, "and nothing twice");
  });

  it("keeps a field's hostile text inside its JSON string", async () => {
    const { stream, writes } = sink();
    const writer = new AccessLogWriter("debug", stream);
    writer.write({ path: '/x\n{"level":"error","message":"forged"}' });
    await nextTurn();
    const lines = (writes[0] ?? "").trimEnd().split("\n");
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0] ?? "") as { path: string }).path, '/x\n{"level":"error","message":"forged"}');
  });

  it("writes nothing at levels above info", async () => {
    const { stream, writes } = sink();
    for (const level of ["warn", "error"] as const) new AccessLogWriter(level, stream).write({ requestId: "r" });
    await nextTurn();
    assert.deepEqual(writes, []);
  });
});
