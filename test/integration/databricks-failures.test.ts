import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { findFreePort } from "../../src/supervisor/free-port.js";
import { readAuditLines } from "../support/audit-files.js";
import { TEST_AUDIT_KEY } from "../support/databricks.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { waitFor } from "../support/wait-for.js";

const SP = { applicationId: "6f1c2d3e-0000-4000-8000-00000000a11e", secret: "dose-correct-secret-value-0001" };
const IDENTITY = { "x-forwarded-user": "1@2", "x-forwarded-email": "alice@example.com", "content-type": "application/json" };

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean; detail: string }>;
  mlflow: { restarts: number; phase: string };
}

async function readiness(gateway: GatewayProcess): Promise<Readiness> {
  return (await (await fetch(`${gateway.url}/-/ready`)).json()) as Readiness;
}

function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  return waitFor(what, probe, { timeoutMs, intervalMs: 250 });
}

function search(gateway: GatewayProcess): Promise<Response> {
  return fetch(`${gateway.url}/api/2.0/mlflow/experiments/search?max_results=1`, { headers: IDENTITY });
}

function env(host: string, secret = SP.secret): Record<string, string> {
  return {
    MLFLOW_TRACKING_URI: "databricks",
    DATABRICKS_HOST: host,
    DATABRICKS_CLIENT_ID: SP.applicationId,
    DATABRICKS_CLIENT_SECRET: secret,
    GATEWAY_AUDIT_HMAC_KEY: TEST_AUDIT_KEY,
    GATEWAY_AUDIT_DIR: mkdtempSync(path.join(tmpdir(), "gateway-audit-")),
  };
}

// The workspace starts late (the gateway first meets a dead host), then misbehaves on
// demand. Tokens live 30 s, so every call fetches one (the SDK renews inside 40 s).
describe("when Databricks fails", () => {
  let port: number;
  let gateway: GatewayProcess;
  let workspace: WorkspaceEmulator | undefined;
  let auditDir: string;

  before(async () => {
    port = await findFreePort();
    const settings = env(`http://127.0.0.1:${port}`);
    auditDir = settings["GATEWAY_AUDIT_DIR"] ?? "";
    gateway = await startGateway({ tempDataDir: false, waitReady: false, env: settings });
  });
  after(async () => {
    await gateway?.stop();
    await workspace?.stop();
  });

  it("says the workspace is unreachable (log, readiness, callers) without a crash loop, and recovers when it appears", async () => {
    const ready = await until(
      "child up, backend checked",
      async () => {
        const r = await readiness(gateway);
        return r.checks["mlflow"]?.ok && r.checks["databricks"]?.detail !== "not checked yet" ? r : undefined;
      },
      90_000,
    );
    assert.equal(ready.status, "not ready");
    assert.equal(ready.checks["databricks"]?.ok, false);
    assert.match(
      ready.checks["databricks"]?.detail ?? "",
      new RegExp(`cannot reach http://127.0.0.1:${port} \\(ECONNREFUSED\\): check DATABRICKS_HOST`),
    );
    const refused = await search(gateway);
    assert.equal(refused.status, 503);
    const body = (await refused.json()) as { error_code: string; gateway_error: string; message: string };
    assert.equal(body.error_code, "TEMPORARILY_UNAVAILABLE");
    assert.equal(body.gateway_error, "BACKEND_UNAVAILABLE");
    assert.match(body.message, /cannot reach/);
    assert.ok(gateway.logs.some((l) => l.level === "error" && String(l.message).startsWith("Databricks backend check failed: cannot reach")));
    assert.equal(ready.mlflow.restarts, 0, "no crash loop");

    workspace = await startWorkspaceEmulator({ port, servicePrincipal: SP, users: [{ userName: "alice@example.com" }], tokenTtlSeconds: 30 });
    await until("backend check passes", async () => ((await readiness(gateway)).status === "ready" ? true : undefined), 20_000);
    assert.equal((await search(gateway)).status, 200);
    assert.ok(gateway.logs.some((l) => l.message === "Databricks backend check passed"));
  });

  it("answers a throttling workspace with an MLflow error in time, then names the throttling, and serves again", async () => {
    const ws = workspace as WorkspaceEmulator;
    ws.faults.set({ rateLimit: { pathPrefix: "/api/2.0/mlflow/experiments", count: 1_000, retryAfterSeconds: 1 } });
    try {
      const started = Date.now();
      const throttled = await search(gateway);
      assert.ok(Date.now() - started < 60_000, "the child gives up well before the front door's 120 s");
      assert.ok(throttled.status >= 429, `status ${throttled.status}`);
      const body = (await throttled.json()) as { error_code?: string; message?: string };
      assert.ok(body.error_code !== undefined && body.message !== undefined, "an MLflow-shaped error, never an HTML page");
      // The child's server error made the gateway re-check the workspace at once.
      await until(
        "readiness names the throttling",
        async () => ((await readiness(gateway)).checks["databricks"]?.ok === false ? true : undefined),
        10_000,
      );
      assert.match((await readiness(gateway)).checks["databricks"]?.detail ?? "", /rate limiting the app/);
      const precise = (await (await search(gateway)).json()) as { gateway_error?: string; message: string };
      assert.equal(precise.gateway_error, "BACKEND_UNAVAILABLE");
      assert.match(precise.message, /rate limiting the app \(429, Retry-After 1\)/);
    } finally {
      ws.faults.clear();
    }
    await until("serving again", async () => ((await search(gateway)).status === 200 ? true : undefined), 20_000);
  });

  it("names the failing token endpoint to callers and in readiness, and recovers by itself", async () => {
    const ws = workspace as WorkspaceEmulator;
    ws.faults.set({ tokenEndpointDown: true });
    try {
      const first = await search(gateway);
      assert.ok(first.status >= 500, `status ${first.status}`);
      const precise = await until(
        "a precise reason",
        async () => {
          const response = await search(gateway);
          const body = (await response.json()) as { gateway_error?: string; message: string };
          return body.gateway_error === "BACKEND_UNAVAILABLE" ? body : undefined;
        },
        15_000,
      );
      assert.match(precise.message, /token endpoint answered 503/);
      assert.match((await readiness(gateway)).checks["databricks"]?.detail ?? "", /token endpoint answered 503/);
    } finally {
      ws.faults.clear();
    }
    await until("serving again", async () => ((await search(gateway)).status === 200 ? true : undefined), 20_000);
    assert.equal((await readiness(gateway)).status, "ready");
  });

  it("passes on no credential the workspace quotes back in its errors: not in logs, readiness, metrics, error bodies or audit records", async () => {
    const ws = workspace as WorkspaceEmulator;
    const seen: string[] = [];
    const logsBefore = gateway.logs.length;
    // The tracking API quotes the bearer token of each call back (the child's first meeting
    // with it is relayed to the caller), then the token endpoint quotes the client secret
    // (to the gateway's backend check and to the child's SDK).
    ws.faults.set({ echoCredentials: true, serverError: { status: 500, pathPrefix: "/api/2.0/mlflow/experiments", count: 1_000 } });
    try {
      seen.push(await (await search(gateway)).text());
      ws.faults.set({ serverError: undefined, tokenEndpointDown: true });
      seen.push(await (await search(gateway)).text());
      seen.push(JSON.stringify(await readiness(gateway)), await (await fetch(`${gateway.url}/-/metrics`)).text());
    } finally {
      ws.faults.clear();
    }
    await until("serving again", async () => ((await search(gateway)).status === 200 ? true : undefined), 20_000);
    const logs = JSON.stringify(gateway.logs.slice(logsBefore)) + gateway.stderr();
    const audit = readAuditLines(auditDir).join("\n");
    assert.ok(audit.length > 0);
    // The echo reached a caller (so the checks below can fail), masked; whether the child also
    // logs the quoted request depends on its token's age, and the logs are checked either way.
    assert.ok(
      seen.some((text) => /Authorization: Bearer \*\*\*/.test(text)),
      "a caller saw the quoted request, masked",
    );
    for (const [where, text] of Object.entries({ "error bodies, readiness and metrics": seen.join("\n"), logs, "audit records": audit })) {
      assert.ok(!text.includes(SP.secret), `the client secret in ${where}`);
      assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/, `a token in ${where}`);
    }
  });

  it("names a wrong client secret precisely, and never prints a secret", async () => {
    const wrongSecret = "dose-wrong-secret-value-9999";
    const misconfigured = await startGateway({ tempDataDir: false, waitReady: false, env: env((workspace as WorkspaceEmulator).url, wrongSecret) });
    try {
      const ready = await until(
        "backend checked",
        async () => {
          const r = await readiness(misconfigured);
          return r.checks["mlflow"]?.ok && r.checks["databricks"]?.detail !== "not checked yet" ? r : undefined;
        },
        90_000,
      );
      assert.match(
        ready.checks["databricks"]?.detail ?? "",
        /the workspace refused the client id\/secret \(401: invalid_client\): check DATABRICKS_CLIENT_ID/,
      );
      const refused = await search(misconfigured);
      assert.equal(refused.status, 503);
      assert.match(((await refused.json()) as { message: string }).message, /refused the client id\/secret/);
    } finally {
      await misconfigured.stop();
    }
    const everything = JSON.stringify(misconfigured.logs) + misconfigured.stderr();
    assert.ok(!everything.includes(wrongSecret) && !everything.includes(SP.secret), "no secret in any log line");
  });
});
