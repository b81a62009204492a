import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type GatewayProcess, isAlive, startGateway } from "../support/gateway-process.js";
import { runPythonJson } from "../support/python.js";

const UPSTREAM_TIMEOUT_MS = 2_000;

async function createExperiment(url: string, name: string): Promise<Response> {
  return await fetch(`${url}/api/2.0/mlflow/experiments/create`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
}

// This scenario freezes and kills the child, so it has a gateway of its own.
describe("when the mlflow child fails", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({ env: { GATEWAY_UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS) } });
  });
  after(async () => {
    await gateway.stop();
  });

  it("answers 504 when the child stops answering, instead of hanging", async () => {
    const pid = await gateway.childPid();
    process.kill(-pid, "SIGSTOP");
    try {
      const started = Date.now();
      const response = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/search?max_results=1`, { signal: AbortSignal.timeout(15_000) });
      const elapsed = Date.now() - started;
      assert.equal(response.status, 504);
      const body = (await response.json()) as { error_code: string; gateway_error: string };
      assert.equal(body.error_code, "DEADLINE_EXCEEDED");
      assert.equal(body.gateway_error, "UPSTREAM_TIMEOUT");
      assert.ok(elapsed >= UPSTREAM_TIMEOUT_MS - 100 && elapsed < UPSTREAM_TIMEOUT_MS + 3_000, `answered after ${elapsed} ms`);
    } finally {
      process.kill(-pid, "SIGCONT");
    }
    const again = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/search?max_results=1`);
    assert.equal(again.status, 200, "the thawed child serves again");
  });

  it("answers 503 with Retry-After while a SIGKILLed child restarts, then serves the real client again", async () => {
    const name = `before-kill-${Date.now()}`;
    assert.equal((await createExperiment(gateway.url, name)).status, 200);
    const pid = await gateway.childPid();
    process.kill(pid, "SIGKILL");

    await gateway.waitForLog((l) => l.message?.startsWith("mlflow server stopped unexpectedly") === true, 10_000);
    const during = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/search?max_results=1`);
    assert.equal(during.status, 503);
    assert.ok(Number(during.headers.get("retry-after")) >= 1);
    const body = (await during.json()) as { error_code: string; gateway_error: string };
    assert.equal(body.error_code, "TEMPORARILY_UNAVAILABLE");
    assert.equal(body.gateway_error, "CHILD_NOT_READY");
    const page = await fetch(`${gateway.url}/`, { headers: { accept: "text/html" } });
    assert.equal(page.status, 503);
    assert.match(await page.text(), /<h1>MLflow is starting<\/h1>/);

    await gateway.waitUntilReady(60_000);
    const newPid = await gateway.childPid();
    assert.notEqual(newPid, pid);
    assert.equal(isAlive(pid), false);
    const result = await runPythonJson<{ names: string[] }>("search_experiments.py", [gateway.url]);
    assert.ok(result.names.includes(name), "data written before the kill is served after the restart");

    const metrics = await (await fetch(`${gateway.url}/-/metrics`)).text();
    assert.match(metrics, /mlflow_gateway_child_restarts_total 1\b/);
    const ready = (await (await fetch(`${gateway.url}/-/ready`)).json()) as { mlflow: { restarts: number; lastExit: { reason: string } } };
    assert.equal(ready.mlflow.restarts, 1);
    assert.equal(ready.mlflow.lastExit.reason, "killed by SIGKILL");
  });
});
