import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";
import type { ErrorBody } from "../support/error-body.js";

async function errorOf(response: Response): Promise<ErrorBody> {
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  const body = (await response.json()) as ErrorBody;
  assert.equal(body.request_id, response.headers.get("x-request-id"));
  return body;
}

/** fetch() normalises header names; raw requests keep underscores as sent. */
function rawRequest(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("requests the gateway refuses", () => {
  let gateway: SharedGateway;
  before(async () => {
    gateway = await useSharedGateway();
  });
  after(async () => {
    await gateway.release();
  });

  it("never forwards the MLflow assistant, which trusts every loopback caller", async () => {
    // Its set-up reads get MLflow's answer to a remote client with nothing configured, so the UI hides it.
    const config = await fetch(`${gateway.url}/ajax-api/3.0/mlflow/assistant/config`);
    assert.equal(config.status, 200);
    assert.deepEqual(await config.json(), { providers: {}, projects: {}, remote_access_allowed: false });
    const providers = await fetch(`${gateway.url}/ajax-api/3.0/mlflow/assistant/providers`);
    assert.deepEqual(await providers.json(), { providers: [], resolved: null, gateway_vendor_options: {} });
    for (const [method, path] of [
      ["PUT", "/ajax-api/3.0/mlflow/assistant/config"],
      ["GET", "/ajax-api/3.0/mlflow/assistant/providers/claude_code/health"],
      ["POST", "/ajax-api/3.0/mlflow/assistant/message"],
      ["POST", "/ajax-api/3.0/mlflow%2Fassistant/skills/install"],
    ] as const) {
      const response = await fetch(`${gateway.url}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body: method === "GET" ? undefined : "{}",
      });
      assert.equal(response.status, 403, path);
      const body = await errorOf(response);
      assert.equal(body.error_code, "PERMISSION_DENIED");
      assert.equal(body.gateway_error, "ROUTE_FORBIDDEN");
    }
  });

  it("refuses underscore spellings of identity headers", async () => {
    for (const name of ["X_Forwarded_Email", "x_forwarded_user", "X_Forwarded_Access_Token"]) {
      const response = await rawRequest(gateway.url, "/api/2.0/mlflow/experiments/search?max_results=1", { [name]: "mallory@example.com" });
      assert.equal(response.status, 400, name);
      const body = JSON.parse(response.body) as ErrorBody;
      assert.equal(body.gateway_error, "HEADER_REJECTED");
      assert.ok(body.message.includes(name));
    }
  });

  it("answers unknown gateway and MLflow paths with a clean JSON 404", async () => {
    const gatewayPath = await fetch(`${gateway.url}/-/nope`);
    assert.equal(gatewayPath.status, 404);
    assert.equal((await errorOf(gatewayPath)).gateway_error, "ROUTE_NOT_FOUND");
    const mlflowPath = await fetch(`${gateway.url}/api/2.0/mlflow/not-a-route`);
    assert.equal(mlflowPath.status, 404);
    assert.equal((await errorOf(mlflowPath)).error_code, "ENDPOINT_NOT_FOUND");
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const response = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/create`);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
  });

  it("refuses a cross-site write but accepts the same write from its own origin", async () => {
    const body = JSON.stringify({ name: `cross-site-${Date.now()}` });
    const foreign = await fetch(`${gateway.url}/ajax-api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      body,
    });
    assert.equal(foreign.status, 403);
    assert.equal((await errorOf(foreign)).gateway_error, "CROSS_SITE_REQUEST");
    const own = await fetch(`${gateway.url}/ajax-api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: gateway.url, "sec-fetch-site": "same-origin" },
      body,
    });
    assert.equal(own.status, 200, "MLflow's own CORS guard must not refuse the UI's origin");
    assert.match(((await own.json()) as { experiment_id: string }).experiment_id, /^\d+$/);
  });

  it("refuses malformed paths with 400 and keeps serving", async () => {
    const response = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/%E0%A4%A`);
    assert.equal(response.status, 400);
    assert.equal((await errorOf(response)).gateway_error, "PATH_REJECTED");
    assert.equal((await fetch(`${gateway.url}/-/live`)).status, 200);
  });

  it("reports liveness, readiness, version and metrics under /-/", async () => {
    const ready = (await (await fetch(`${gateway.url}/-/ready`)).json()) as { status: string; checks: Record<string, { ok: boolean }> };
    assert.equal(ready.status, "ready");
    assert.equal(ready.checks["mlflow"]?.ok, true);
    const version = (await (await fetch(`${gateway.url}/-/version`)).json()) as { gateway: string; mlflow: string; mode: string };
    assert.match(version.mlflow, /^3\./);
    assert.equal(version.mode, "local");
    const metrics = await (await fetch(`${gateway.url}/-/metrics`)).text();
    assert.match(metrics, /mlflow_gateway_child_up 1/);
    assert.match(metrics, /mlflow_gateway_http_requests_total\{class="refused",status="403"\} \d+/);
    assert.match(metrics, /mlflow_gateway_http_request_duration_seconds_bucket\{le="0.001",class="/);
  });
});
