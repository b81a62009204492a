/**
 * Issue 5, durable delivery: a gateway in Databricks mode writes its audit trail to a Unity
 * Catalog volume of the workspace emulator through the Files API. The request path never
 * waits for the volume; an outage (with a gateway restart in the middle) loses nothing,
 * duplicates nothing and keeps the order; SIGTERM under load leaves every completed call's
 * event on disk and in the volume.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEventRecord, AuditRecord } from "../../src/audit/audit-record.js";
import { verifyChain } from "../../src/audit/verify-chain.js";
import { Secret } from "../../src/config/secret.js";
import { WorkspaceClient } from "../../src/databricks/workspace-client.js";
import { sleep } from "../../src/supervisor/wait-for-health.js";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { readAuditEvents, runAuditCli } from "../support/audit-files.js";
import { ucAdmin } from "../emulator/uc-admin.js";
import { databricksEnv, TEST_AUDIT_KEY, WORKSPACE_ADMIN, workspaceUsers } from "../support/databricks.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";

const VOLUME = "/Volumes/main/mlflow/audit";
const FILES_PREFIX = `/api/2.0/fs/files${VOLUME}`;
const IDENTITY = { "x-forwarded-user": "1@2", "x-forwarded-email": "alice@example.com" };

describe("audit trail delivered to a Unity Catalog volume", () => {
  let emulator: WorkspaceEmulator;
  let gateway: GatewayProcess | undefined;
  let auditDir: string;
  let env: Record<string, string>;
  let volumeReader: WorkspaceClient;

  before(async () => {
    auditDir = mkdtempSync(path.join(tmpdir(), "audit-volume-test-"));
    emulator = await startWorkspaceEmulator({ users: workspaceUsers("alice@example.com") });
    env = databricksEnv(emulator, {
      GATEWAY_AUDIT_VOLUME: VOLUME,
      GATEWAY_AUDIT_DIR: auditDir,
      GATEWAY_AUDIT_BATCH_MS: "200",
      GATEWAY_AUDIT_BATCH_MAX_EVENTS: "25",
      GATEWAY_AUDIT_SINKS: "file,volume",
    });
    // Not ready until the volume exists and the app may write it: the first test sets it up.
    gateway = await startGateway({ env, tempDataDir: false, waitReady: false });
    volumeReader = new WorkspaceClient({
      host: emulator.url,
      auth: { kind: "oauth-m2m", clientId: emulator.servicePrincipal.applicationId, clientSecret: new Secret(emulator.servicePrincipal.secret) },
      experimentRoot: "/Shared/mlflow",
    });
  });

  after(async () => {
    emulator?.faults.clear();
    await gateway?.stop();
    await emulator?.stop();
    rmSync(auditDir, { recursive: true, force: true });
  });

  /** A cheap MLflow call with a request id of our choosing; returns its status. */
  async function call(requestId: string): Promise<{ status: number; ms: number }> {
    const started = performance.now();
    const response = await fetch(`${(gateway as GatewayProcess).url}/api/2.0/mlflow/experiments/search?max_results=1`, {
      headers: { ...IDENTITY, "x-request-id": requestId },
    });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - started };
  }

  /** Every record in the volume: objects in name order per day folder (the delivery order). */
  async function volumeLines(): Promise<string[]> {
    const list = async (dir: string): Promise<string[]> => {
      const answer = await volumeReader.request(`/api/2.0/fs/directories${dir}`).catch(() => undefined);
      if (answer === undefined || !answer.ok) return [];
      const { contents = [] } = (await answer.json()) as { contents?: Array<{ path: string; is_directory: boolean }> };
      const nested = await Promise.all(contents.map((entry) => (entry.is_directory ? list(entry.path) : Promise.resolve([entry.path]))));
      return nested.flat();
    };
    // Audit batches only, as the audit reader takes them (the gateway's write check leaves a probe object).
    const objects = (await list(VOLUME)).filter((object) => object.endsWith(".jsonl")).sort();
    const lines: string[] = [];
    for (const object of objects) {
      const text = await (await volumeReader.request(`/api/2.0/fs/files${object}`)).text();
      lines.push(...text.split("\n").filter(Boolean));
    }
    return lines;
  }

  async function volumeEventsFor(ids: readonly string[], timeoutMs = 20_000): Promise<{ lines: string[]; events: AuditEventRecord[] }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = await volumeLines();
      const events = lines.map((l) => JSON.parse(l) as AuditRecord).filter((r): r is AuditEventRecord => r.type === "event");
      const seen = new Set(events.map((e) => e.request_id));
      if (ids.every((id) => seen.has(id))) return { lines, events };
      if (Date.now() > deadline) assert.fail(`${ids.filter((id) => !seen.has(id)).length} of ${ids.length} events never reached the volume`);
      await sleep(250);
    }
  }

  it("is ready only once the audit volume exists and the service principal may write it, saying what is missing", async () => {
    /** Waits until the volume check's detail matches (and, when asked, the gateway is ready). */
    const detail = async (pattern: RegExp, wantReady = false): Promise<string> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ready = (await (await fetch(`${(gateway as GatewayProcess).url}/-/ready`)).json()) as {
          status: string;
          checks: Record<string, { ok: boolean; detail: string }>;
        };
        const check = ready.checks["audit-volume"];
        if (check !== undefined && pattern.test(check.detail) && (!wantReady || ready.status === "ready")) return ready.status;
        if (Date.now() > deadline) assert.fail(`readiness never said ${String(pattern)}: ${JSON.stringify(ready.checks)}`);
        await sleep(250);
      }
    };
    // An empty metastore: not even the catalog exists.
    assert.equal(await detail(/the catalog main of GATEWAY_AUDIT_VOLUME does not exist/), "not ready");
    const admin = await ucAdmin(emulator, WORKSPACE_ADMIN);
    const sp = emulator.servicePrincipal.applicationId;
    await admin.ensureVolume("main.mlflow.audit");
    await admin.grant("CATALOG", "main", sp, ["USE_CATALOG"]);
    await admin.grant("SCHEMA", "main.mlflow", sp, ["USE_SCHEMA"]);
    await admin.grant("VOLUME", "main.mlflow.audit", sp, ["READ_VOLUME"]);
    assert.equal(await detail(/may not write the audit volume main\.mlflow\.audit \(GRANT WRITE VOLUME ON VOLUME main\.mlflow\.audit/), "not ready");
    await admin.grant("VOLUME", "main.mlflow.audit", sp, ["WRITE_VOLUME"]);
    assert.equal(await detail(/exists and the service principal can write \/Volumes\/main\/mlflow\/audit/, true), "ready");
  });

  it("never makes a call wait for the volume: with every Files API write taking 3 s, calls stay fast", async () => {
    // Warm up first: the child's first call to the workspace fetches its token and caches.
    for (let i = 0; i < 3; i += 1) assert.equal((await call(`warm-up-${randomUUID()}`)).status, 200);
    emulator.faults.set({ latencyMs: 3_000, latencyPathPrefix: FILES_PREFIX });
    const ids = Array.from({ length: 30 }, () => `slow-volume-${randomUUID()}`);
    const timings: number[] = [];
    for (const id of ids) {
      const { status, ms } = await call(id);
      assert.equal(status, 200);
      timings.push(ms);
    }
    emulator.faults.clear();
    const slowest = Math.max(...timings);
    // Six batches were sealed while this ran; had a call waited for one upload it would take 3 s.
    assert.ok(slowest < 1_500, `slowest call ${Math.round(slowest)} ms while each volume write took 3 s: ${timings.map(Math.round).join(", ")}`);
    await volumeEventsFor(ids);
  });

  it("delivers every event in order, none twice, across a Files API outage and a gateway restart", async () => {
    emulator.faults.set({ serverError: { pathPrefix: FILES_PREFIX, status: 503 } });
    const first = Array.from({ length: 40 }, () => `outage-a-${randomUUID()}`);
    for (const id of first) assert.equal((await call(id)).status, 200, "calls go on while the volume is down");
    const ready = (await (await fetch(`${(gateway as GatewayProcess).url}/-/ready`)).json()) as {
      status: string;
      checks: Record<string, { detail: string }>;
    };
    assert.equal(ready.status, "ready", "an outage within the spool bound does not stop the gateway");

    // Restart in the middle of the outage: the spool carries the undelivered batches over.
    const stopped = await (gateway as GatewayProcess).stop();
    assert.equal(stopped.exitCode, 0);
    assert.ok(stopped.durationMs < 14_000, `shutdown during the outage took ${stopped.durationMs} ms`);
    // Restarted during the outage, the gateway cannot verify the volume, so it waits for the child only.
    gateway = await startGateway({ env, tempDataDir: false, waitReady: false });
    await gateway.childPid();
    const second = Array.from({ length: 20 }, () => `outage-b-${randomUUID()}`);
    for (const id of second) assert.equal((await call(id)).status, 200);
    emulator.faults.clear();

    const { lines, events } = await volumeEventsFor([...first, ...second], 30_000);
    const ids = events.map((e) => e.request_id);
    assert.equal(new Set(ids).size, ids.length, "no event arrived twice");
    const wanted = [...first, ...second];
    assert.deepEqual(
      ids.filter((id) => id.startsWith("outage-")),
      wanted,
      "the volume holds the calls in the order they were made",
    );
    const report = verifyChain(lines, Buffer.from(TEST_AUDIT_KEY, "utf8"));
    assert.deepEqual(report.problems, [], "the volume's chain verifies, digests included");
    const streams = new Set(events.map((e) => e.stream));
    assert.ok(streams.size >= 2, "two gateway runs, two streams");

    // The reviewer's tool reads the volume itself.
    const verified = await runAuditCli(["verify", VOLUME], {
      DATABRICKS_HOST: emulator.url,
      DATABRICKS_CLIENT_ID: emulator.servicePrincipal.applicationId,
      DATABRICKS_CLIENT_SECRET: emulator.servicePrincipal.secret,
      GATEWAY_AUDIT_HMAC_KEY: TEST_AUDIT_KEY,
    });
    assert.equal(verified.exitCode, 0, verified.stdout + verified.stderr);
  });

  it("SIGTERM under load: every completed call's event is on disk and in the volume after exit", async () => {
    const running = gateway as GatewayProcess;
    const completed: string[] = [];
    let stop = false;
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const id = `term-${randomUUID()}`;
        try {
          await call(id);
          completed.push(id);
        } catch {
          // Refused connections after the listener closed: those calls never reached the gateway.
          await sleep(20);
        }
      }
    });
    await sleep(1_500);
    const exit = await running.stop("SIGTERM");
    stop = true;
    await Promise.all(clients);
    gateway = undefined;
    assert.equal(exit.exitCode, 0);
    assert.ok(completed.length > 10, `load was running (${completed.length} calls)`);

    const onDisk = new Set(readAuditEvents(auditDir).map((e) => e.request_id));
    const missingOnDisk = completed.filter((id) => !onDisk.has(id));
    assert.deepEqual(missingOnDisk, [], "every completed call is in the audit files");
    const { events } = await volumeEventsFor(completed, 1_000);
    assert.equal(events.filter((e) => e.request_id.startsWith("term-")).length, completed.length, "and in the volume, once each");
  });

  it("when auditing is impossible (volume down past the spool bound), refuses writes with 503 and says so, then recovers", async () => {
    emulator.faults.set({ serverError: { pathPrefix: FILES_PREFIX, status: 503 } });
    // Started during the outage, the gateway cannot verify the volume: it is not ready, but it serves.
    gateway = await startGateway({
      env: { ...env, GATEWAY_AUDIT_SPOOL_MAX_MB: "0.02", GATEWAY_AUDIT_BATCH_MAX_EVENTS: "5" },
      tempDataDir: false,
      waitReady: false,
    });
    await gateway.childPid();
    const running = gateway;
    const readiness = async (): Promise<{ status: string; checks: Record<string, { ok: boolean; detail: string }> }> =>
      (await (await fetch(`${running.url}/-/ready`)).json()) as { status: string; checks: Record<string, { ok: boolean; detail: string }> };
    // Reads are allowed throughout; they fill the spool past its 20 KB bound.
    const deadline = Date.now() + 30_000;
    while ((await readiness()).checks["audit"]?.ok !== false) {
      assert.ok(Date.now() < deadline, "the spool bound was never reached");
      assert.equal((await call(`fill-${randomUUID()}`)).status, 200);
    }
    const notReady = await readiness();
    assert.equal(notReady.status, "not ready");
    assert.match(notReady.checks["audit"]?.detail ?? "", /audit cannot be recorded durably \(refuse-writes\).*exceed the spool bound/);
    await running.waitForLog((l) => l.message === "audit trail cannot record durably; applying the failure policy");

    const refusedId = `refused-write-${randomUUID()}`;
    const write = () =>
      fetch(`${running.url}/api/2.0/mlflow/experiments/create`, {
        method: "POST",
        headers: { ...IDENTITY, "content-type": "application/json", "x-request-id": refusedId },
        body: JSON.stringify({ name: `not-unaudited-${randomUUID()}` }),
      });
    const refused = await write();
    assert.equal(refused.status, 503);
    const body = (await refused.json()) as { gateway_error: string; message: string };
    assert.equal(body.gateway_error, "AUDIT_UNAVAILABLE");
    assert.match(body.message, /was not performed/);
    assert.equal((await call(`read-while-failing-${randomUUID()}`)).status, 200, "reads go on");

    emulator.faults.clear();
    const recovered = Date.now() + 30_000;
    while ((await readiness()).status !== "ready") {
      assert.ok(Date.now() < recovered, "the gateway never recovered after the volume came back");
      await sleep(250);
    }
    const accepted = await fetch(`${running.url}/api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { ...IDENTITY, "content-type": "application/json" },
      body: JSON.stringify({ name: `audited-again-${randomUUID()}` }),
    });
    assert.equal(accepted.status, 200);
    const { events } = await volumeEventsFor([refusedId]);
    const refusal = events.find((e) => e.request_id === refusedId) as AuditEventRecord;
    assert.equal(refusal.outcome.decided_by, "audit-unavailable");
    assert.equal(refusal.outcome.status, 503);
  });
});
