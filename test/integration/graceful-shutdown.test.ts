import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, it } from "node:test";
import { isAlive, startGateway } from "../support/gateway-process.js";
import { sleep } from "../../src/supervisor/wait-for-health.js";

const CHUNKS = 12;
const CHUNK_INTERVAL_MS = 250;
const CHUNK = Buffer.alloc(64 * 1024, 7);

/** An artifact upload that trickles its body in over ~3 s: a slow request in flight. */
function slowUpload(url: string, artifactPath: string, onStarted: () => void): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}`,
      { method: "PUT", headers: { "content-type": "application/octet-stream" } },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    void (async () => {
      for (let i = 0; i < CHUNKS; i += 1) {
        req.write(CHUNK);
        if (i === 1) onStarted();
        await sleep(CHUNK_INTERVAL_MS);
      }
      req.end();
    })();
  });
}

// This scenario stops the gateway, so it has one of its own.
describe("SIGTERM with a slow request in flight", () => {
  it("finishes the request, stops the child and exits 0 within 15 s", async () => {
    const gateway = await startGateway();
    const childPid = await gateway.childPid();
    // Cold start: the child boots while the HTTP side loads, not after it.
    const spawned = gateway.logs.findIndex((l) => l.message === "starting mlflow server");
    const listening = gateway.logs.findIndex((l) => l.message === "gateway listening");
    assert.ok(spawned >= 0 && spawned < listening, "the child is spawned before the HTTP side is loaded");
    let signalledAt = 0;
    const upload = slowUpload(gateway.url, "shutdown-test/slow.bin", () => {
      signalledAt = Date.now();
      gateway.process.kill("SIGTERM");
    });
    const result = await upload;
    assert.equal(result.status, 200, `upload answered ${result.status}: ${result.body}`);
    assert.ok(Date.now() - signalledAt > CHUNK_INTERVAL_MS * 5, "the request really was in flight when SIGTERM came");

    const stopped = await gateway.stop();
    const total = Date.now() - signalledAt;
    assert.equal(stopped.exitCode, 0);
    assert.ok(total < 15_000, `stopped ${total} ms after SIGTERM`);
    assert.equal(isAlive(childPid), false, "no mlflow process is left behind");
    let groupGone = false;
    try {
      process.kill(-childPid, 0);
    } catch {
      groupGone = true;
    }
    assert.ok(groupGone, "no process of the child's group (uvicorn workers) is left behind");
    assert.ok(gateway.logs.some((l) => l.message === "gateway stopped" && l["drained"] === true));
  });
});
