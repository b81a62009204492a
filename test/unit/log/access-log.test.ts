import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createAccessLog } from "../../../src/log/access-log.js";
import { AccessLogWriter } from "../../../src/log/access-log-writer.js";
import { createLogger } from "../../../src/log/create-logger.js";

function readableLog(level: "info" | "debug") {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  const logger = createLogger(level, { format: "pretty", stream, colors: false });
  return { access: createAccessLog(level, "pretty", logger), lines: () => text.split("\n").filter((line) => line !== "") };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("the access log in the readable format", () => {
  it("prints an MLflow call as method, path, status and time, with its operation", async () => {
    const { access, lines } = readableLog("info");
    access.write({
      source: "access",
      method: "POST",
      path: "/api/2.0/mlflow/runs/create",
      status: 200,
      durationMs: 12.345,
      operation: "CreateRun",
      class: "write",
    });
    await nextTurn();
    assert.match(lines()[0] ?? "", /^\d\d:\d\d:\d\d info  access  POST \/api\/2\.0\/mlflow\/runs\/create 200 12\.3 ms {2}operation=CreateRun$/);
  });

  it("keeps the UI's assets and the probes out of a terminal at info, unless they fail", async () => {
    const { access, lines } = readableLog("info");
    access.write({ method: "GET", path: "/static-files/main.js", status: 200, durationMs: 1, class: "ui" });
    access.write({ method: "GET", path: "/health", status: 200, durationMs: 1, class: "gateway" });
    access.write({ method: "GET", path: "/static-files/missing.js", status: 404, durationMs: 1, class: "ui" });
    await nextTurn();
    assert.equal(lines().length, 1);
    assert.match(lines()[0] ?? "", /GET \/static-files\/missing\.js 404/);

    const verbose = readableLog("debug");
    verbose.access.write({ method: "GET", path: "/static-files/main.js", status: 200, durationMs: 1, class: "ui" });
    await nextTurn();
    assert.match(verbose.lines()[0] ?? "", /debug access {2}GET \/static-files\/main\.js 200/);
  });

  it("stays the fast JSON writer in the JSON format", () => {
    const logger = createLogger("info", { stream: new PassThrough() });
    assert.ok(createAccessLog("info", "json", logger, new PassThrough()) instanceof AccessLogWriter);
  });
});
