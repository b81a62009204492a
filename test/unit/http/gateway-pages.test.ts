import { closeServer, localPipelineDependencies } from "../../support/local-pipeline.js";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createAuditTrail } from "../../../src/audit/create-audit-trail.js";
import { loadConfig } from "../../../src/config/load-config.js";
import { createApp } from "../../../src/http/create-app.js";
import { listen } from "../../../src/http/serve.js";
import { AccessLogWriter } from "../../../src/log/access-log-writer.js";
import { createLogger } from "../../../src/log/create-logger.js";
import { createMetrics } from "../../../src/metrics/metrics.js";
import { Supervisor } from "../../../src/supervisor/supervisor.js";
import { Writable } from "node:stream";

const repoRoot = path.resolve(import.meta.dirname, "../../..");

/**
 * The whole request pipeline in-process, with every real stage (local identity, policy,
 * audit file sink, route table) and a child that was never started: what the gateway
 * answers itself, and the doors to its own pages.
 */
async function startPipeline(admins: string): Promise<{ url: string; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "gateway-pages-"));
  const config = loadConfig({ GATEWAY_DATA_DIR: dataDir, GATEWAY_ADMINS: admins }, { repoRoot });
  const logger = createLogger("error", { stream: new Writable({ write: (_c, _e, done) => done() }) });
  const supervisor = new Supervisor({
    command: { file: "/bin/false", args: [], env: {} },
    port: 9,
    startTimeoutMs: 1_000,
    logger,
  });
  const metrics = createMetrics();
  const audit = createAuditTrail(config.audit, { workspace: undefined, logger });
  const app = createApp(localPipelineDependencies({ config, logger, supervisor, metrics, audit, accessLog: new AccessLogWriter("error") }));
  const { server, port } = await listen(app, "127.0.0.1", 0);
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await closeServer(server);
      await audit.close(Date.now() + 2_000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

describe("the gateway's own pages, reached through the pipeline", () => {
  let notAdmin: Awaited<ReturnType<typeof startPipeline>>;
  let admin: Awaited<ReturnType<typeof startPipeline>>;
  before(async () => {
    notAdmin = await startPipeline("someone-else@example.com");
    admin = await startPipeline("");
  });
  after(async () => {
    await notAdmin.close();
    await admin.close();
  });

  it("answers probes, version and metrics without identity, HEAD included", async () => {
    assert.deepEqual(JSON.parse((await get(`${notAdmin.url}/-/live`)).body), { status: "alive" });
    const ready = await get(`${notAdmin.url}/-/ready`);
    assert.equal(ready.status, 503, "the child never started");
    assert.equal((JSON.parse(ready.body) as { checks: { mlflow: { ok: boolean } } }).checks.mlflow.ok, false);
    const head = await get(`${notAdmin.url}/-/ready`, { method: "HEAD" });
    assert.equal(head.status, 503);
    assert.equal(head.body, "");
    assert.equal((JSON.parse((await get(`${notAdmin.url}/-/version`)).body) as { gateway: string }).gateway, "test");
    const metrics = await get(`${notAdmin.url}/-/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /mlflow_gateway_http_requests_total/);
    assert.equal(metrics.headers.get("x-powered-by"), null);
  });

  it("names the method and the allowed ones, and the known endpoints, in MLflow's error shape", async () => {
    const post = await get(`${notAdmin.url}/-/live`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.match(post.body, /POST is not allowed on \/-\/live/);
    const missing = await get(`${notAdmin.url}/-/nothing-here`);
    assert.equal(missing.status, 404);
    assert.match(
      (JSON.parse(missing.body) as { message: string }).message,
      /No gateway endpoint at \/-\/nothing-here\. Gateway endpoints: \/-\/live/,
    );
  });

  it("lets only an admin read the audit trail, whatever the spelling of the path", async () => {
    assert.equal((await get(`${notAdmin.url}/-/admin/audit`)).status, 403);
    assert.equal((await get(`${notAdmin.url}/-/admin/audit/events`)).status, 403);
    // Spellings that must not reach the page by the door probes use (before identity).
    for (const spelling of ["/-/ADMIN/audit", "/-/Admin/audit/events", "/-/%61dmin/audit", "/-/admin//audit", "/-/admin/audit/"]) {
      const answer = await get(`${notAdmin.url}${spelling}`);
      assert.ok(answer.status === 403 || answer.status === 404 || answer.status === 400, `${spelling} answered ${answer.status}`);
      assert.doesNotMatch(answer.body, /Audit events|"events"/, spelling);
    }
    const page = await get(`${admin.url}/-/admin/audit`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<h1>Audit events<\/h1>/);
    const events = JSON.parse((await get(`${admin.url}/-/admin/audit/events?limit=5`)).body) as { events: { action: string }[] };
    assert.ok(
      events.events.some((e) => e.action === "ViewAuditEvents"),
      "the admin's own earlier view is in the trail",
    );
    assert.equal((await get(`${admin.url}/-/admin/audit?limit=abc`)).status, 400);
    assert.equal((await get(`${admin.url}/-/admin/nope`)).status, 404);
    assert.equal((await get(`${admin.url}/-/admin/audit`, { method: "DELETE" })).status, 405);
  });

  it("answers an MLflow call itself while the child is away: 503 with Retry-After", async () => {
    const answer = await get(`${admin.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    assert.equal(answer.status, 503);
    assert.ok(Number(answer.headers.get("retry-after")) >= 1);
    assert.equal((JSON.parse(answer.body) as { gateway_error: string }).gateway_error, "CHILD_NOT_READY");
  });
});
