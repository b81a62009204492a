/**
 * Issue 5, the audit trail in the production topology: clients -> front door -> gateway
 * (headers mode, verified against the workspace emulator's keys) -> mlflow server. A
 * scripted session (the real MLflow Python client, UI ajax calls, artifacts, refused calls,
 * calls while the child restarts, an abandoned call) must leave exactly one event per
 * call; the front door's own record of what it forwarded is the other side of the count.
 * Then 5,000 calls at concurrency 50, log-injection attempts, and `npm run audit -- verify`
 * over the files, untouched and tampered with.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEventRecord } from "../../src/audit/audit-record.js";
import { sleep } from "../../src/supervisor/wait-for-health.js";
import type { PublicUser, WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import { readAuditEvents, readAuditLines, runAuditCli, waitForAuditEvents } from "../support/audit-files.js";
import type { GatewayProcess } from "../support/gateway-process.js";
import { startIdentityStack } from "../support/identity-stack.js";
import { runPythonJson } from "../support/python.js";

const ALICE = "alice@example.com";
const BOB = "bob@example.com";

/** Paths whose calls are MLflow API calls (audited); the rest is UI and probes. */
const isAuditedPath = (p: string): boolean => /^\/(api|ajax-api)\/|^\/get-artifact|^\/-\/admin\//.test(p);

describe("audit trail: one tamper-evident event per MLflow call", () => {
  let emulator: WorkspaceEmulator;
  let gateway: GatewayProcess;
  let frontDoor: FrontDoor;
  let auditDir: string;
  let scratch: string;
  let alice: PublicUser;
  /** Calls sent straight to the gateway (not through the front door), by request id. */
  const direct: string[] = [];

  before(async () => {
    auditDir = mkdtempSync(path.join(tmpdir(), "audit-trail-test-"));
    scratch = mkdtempSync(path.join(tmpdir(), "audit-session-"));
    ({ emulator, gateway } = await startIdentityStack("headers", [ALICE, BOB], {
      GATEWAY_AUDIT_DIR: auditDir,
      GATEWAY_ADMINS: ALICE,
      GATEWAY_READERS: BOB,
    }));
    frontDoor = await startFrontDoor({ upstream: gateway.url, workspace: emulator });
    alice = emulator.users.find((u) => u.userName === ALICE) as PublicUser;
  });

  after(async () => {
    await frontDoor?.close();
    await gateway?.stop();
    await emulator?.stop();
    rmSync(scratch, { recursive: true, force: true });
    rmSync(auditDir, { recursive: true, force: true });
  });

  /** What the front door would send for alice, hand-made, for calls that bypass it on purpose. */
  function aliceHeaders(requestId: string): Record<string, string> {
    direct.push(requestId);
    return {
      "X-Forwarded-User": `${alice.id}@${emulator.workspaceId}`,
      "X-Forwarded-Email": ALICE,
      "X-Forwarded-Preferred-Username": "alice",
      "X-Request-Id": requestId,
    };
  }

  it("a scripted session leaves exactly one event per call, refusals, restarts and abandoned calls included", async () => {
    const door = frontDoor;
    const aliceToken = await emulator.mintUserToken({ userName: ALICE });
    const bobToken = await emulator.mintUserToken({ userName: BOB });

    // 1. The real MLflow client: experiment, run, param, metrics, tag, artifact up and down, search.
    const session = await runPythonJson<{ experiment_id: string; run_id: string; downloaded: string; found: number }>(
      "audit_session.py",
      [door.url, scratch],
      { MLFLOW_TRACKING_TOKEN: aliceToken, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" },
    );
    assert.equal(session.downloaded, "audited artifact\n");
    const runId = session.run_id;

    // 2. The UI, as a signed-in browser: a page (not audited), ajax calls and an artifact view.
    const cookie = door.login(ALICE);
    assert.equal((await fetch(`${door.url}/`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${door.url}/ajax-api/2.0/mlflow/experiments/search?max_results=5`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${door.url}/ajax-api/2.0/mlflow/runs/get?run_id=${runId}`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${door.url}/get-artifact?path=notes.txt&run_uuid=${runId}`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${door.url}/-/admin/audit/events?limit=1`, { headers: { cookie } })).status, 200, "alice is an admin");

    // 3. Refusals: a reader's delete, a non-admin's audit page, a cross-site write, an unknown route, no identity.
    const bobDelete = await fetch(`${door.url}/api/2.0/mlflow/runs/delete`, {
      method: "POST",
      headers: { authorization: `Bearer ${bobToken}`, "content-type": "application/json" },
      body: JSON.stringify({ run_id: runId }),
    });
    assert.equal(bobDelete.status, 403);
    assert.equal(((await bobDelete.json()) as { gateway_error: string }).gateway_error, "POLICY_DENIED");
    assert.equal((await fetch(`${door.url}/-/admin/audit`, { headers: { cookie: door.login(BOB) } })).status, 403);
    const crossSite = await fetch(`${door.url}/ajax-api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { cookie, origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ name: "cross-site" }),
    });
    assert.equal(crossSite.status, 403);
    assert.equal((await fetch(`${door.url}/api/2.0/mlflow/no-such-call`, { headers: { authorization: `Bearer ${aliceToken}` } })).status, 404);
    const anonymousId = `anonymous-${randomUUID()}`;
    direct.push(anonymousId);
    assert.equal((await fetch(`${gateway.url}/api/2.0/mlflow/experiments/search`, { headers: { "x-request-id": anonymousId } })).status, 401);

    // 4. Calls while the child restarts.
    const pid = await gateway.childPid();
    process.kill(pid, "SIGKILL");
    await gateway.waitForLog((l) => l.message?.startsWith("mlflow server stopped unexpectedly") === true, 10_000);
    const during = await fetch(`${door.url}/api/2.0/mlflow/experiments/search?max_results=1`, { headers: { authorization: `Bearer ${aliceToken}` } });
    assert.equal(during.status, 503);
    await gateway.waitUntilReady(60_000);

    // 5. A call the client abandons while MLflow is frozen.
    const abandonedId = `abandoned-${randomUUID()}`;
    const childPid = await gateway.childPid();
    process.kill(-childPid, "SIGSTOP");
    try {
      await new Promise<void>((resolve) => {
        const url = new URL(`${gateway.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
        const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers: aliceHeaders(abandonedId) });
        req.on("error", () => resolve());
        req.end();
        setTimeout(() => req.destroy(), 300);
      });
    } finally {
      process.kill(-childPid, "SIGCONT");
    }

    // The count, both sides: every API call the front door forwarded, plus the direct ones.
    const forwarded = door.forwarded.filter((f) => isAuditedPath(f.path));
    assert.ok(
      door.forwarded.some((f) => f.path === "/"),
      "the UI page went through the front door too",
    );
    const expected = [...forwarded.map((f) => f.requestId), anonymousId, abandonedId];
    const events = await waitForAuditEvents(auditDir, expected);
    const byId = new Map<string, AuditEventRecord[]>();
    for (const event of events) byId.set(event.request_id, [...(byId.get(event.request_id) ?? []), event]);
    for (const id of expected) assert.equal(byId.get(id)?.length, 1, `exactly one event for ${id}`);
    assert.equal(events.length, expected.length, "no event for anything else (the UI page, probes)");
    assert.ok(forwarded.length >= 20, `the Python client made its calls through the front door (${forwarded.length})`);

    const one = (id: string): AuditEventRecord => byId.get(id)?.[0] as AuditEventRecord;
    const frontDoorId = (method: string, prefix: string): string[] =>
      forwarded.filter((f) => f.method === method && f.path.startsWith(prefix)).map((f) => f.requestId);

    const [deleteId] = frontDoorId("POST", "/api/2.0/mlflow/runs/delete");
    const denied = one(deleteId as string);
    assert.equal(denied.action, "DeleteRun");
    assert.equal(denied.principal.email, BOB);
    assert.deepEqual(denied.outcome, {
      status: 403,
      error_code: "PERMISSION_DENIED",
      decision: "deny",
      decided_by: "read-only",
      // The grant that decided (GATEWAY_READERS' deny) and what the call needed.
      grant: "read-only",
      permission: "MANAGE",
      gateway_error: "POLICY_DENIED",
      abandoned: false,
    });
    assert.equal(denied.objects.run_id, runId, "the refused call's body named the run it meant to delete");

    const logParam = one(frontDoorId("POST", "/api/2.0/mlflow/runs/log-parameter")[0] as string);
    assert.equal(logParam.action, "LogParam");
    assert.deepEqual(logParam.written_keys, ["learning_rate"]);
    assert.equal(logParam.objects.run_id, runId);
    assert.equal(logParam.outcome.decided_by, "default-write");
    assert.equal(logParam.principal.verified_by, "headers");

    const upload = one(frontDoorId("PUT", "/api/2.0/mlflow-artifacts/artifacts/")[0] as string);
    assert.equal(upload.service, "artifacts");
    assert.equal(upload.bytes_in, "audited artifact\n".length);
    const viewed = one(frontDoorId("GET", "/get-artifact")[0] as string);
    assert.equal(viewed.objects.artifact_path, "notes.txt");
    assert.equal(viewed.bytes_out, "audited artifact\n".length);

    assert.equal(one(frontDoorId("GET", "/-/admin/audit")[1] as string).outcome.decided_by, "admin-only");
    assert.equal(one(frontDoorId("POST", "/ajax-api/2.0/mlflow/experiments/create")[0] as string).outcome.decided_by, "cross-site");
    assert.equal(one(frontDoorId("GET", "/api/2.0/mlflow/no-such-call")[0] as string).outcome.decided_by, "route");
    const anonymous = one(anonymousId);
    assert.equal(anonymous.outcome.decided_by, "identity");
    assert.equal(anonymous.principal.subject, null);
    const restarting = forwarded.filter((f) => f.status === 503).map((f) => one(f.requestId));
    assert.ok(restarting.length >= 1);
    for (const e of restarting) assert.match(String(e.outcome.gateway_error), /CHILD_NOT_READY|UPSTREAM_UNAVAILABLE/);
    const abandoned = one(abandonedId);
    assert.equal(abandoned.outcome.abandoned, true);
    assert.equal(abandoned.outcome.status, 499);

    // Never in the trail: tokens, cookies, param values.
    const text = readAuditLines(auditDir).join("\n");
    const secrets: Record<string, string> = { aliceToken, bobToken, cookie: cookie.split("=")[1] as string, "param value": "lr-value-7d1f" };
    for (const [what, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `no ${what} in the trail`);

    // The admin page filters the same way as `npm run audit -- search`.
    const view = (await (await fetch(`${door.url}/-/admin/audit/events?person=bob&outcome=deny`, { headers: { cookie } })).json()) as {
      events: AuditEventRecord[];
    };
    assert.deepEqual(view.events.map((e) => `${e.action}:${e.outcome.decided_by}`).sort(), ["DeleteRun:read-only", "ViewAuditEvents:admin-only"]);
    const page = await (await fetch(`${door.url}/-/admin/audit?action=DeleteRun`, { headers: { cookie } })).text();
    assert.match(page, /<td>bob@example\.com<\/td><td>DeleteRun<\/td><td>run_id=[0-9a-f]{32}<\/td><td>403<\/td><td>deny \(read-only\)<\/td>/);
    const badFilter = await fetch(`${door.url}/-/admin/audit/events?since=yesterday-ish`, { headers: { cookie } });
    assert.equal(badFilter.status, 400);
    assert.match(((await badFilter.json()) as { message: string }).message, /since/);
  });

  it("5,000 calls at concurrency 50: none lost, none twice, and the chain verifies", async () => {
    const total = 5_000;
    const ids = Array.from({ length: total }, (_, i) => `load-${i}-${randomUUID()}`);
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < total) {
          const id = ids[next] as string;
          next += 1;
          // GetServerInfo is served by MLflow's FastAPI side, fast enough that this test measures the gateway, not SQLite.
          const response = await fetch(`${gateway.url}/api/3.0/mlflow/server-info`, { headers: aliceHeaders(id) });
          await response.arrayBuffer();
          statuses.push(response.status);
        }
      }),
    );
    assert.equal(statuses.filter((s) => s === 200).length, total);
    const events = await waitForAuditEvents(auditDir, ids, 30_000);
    const load = events.filter((e) => e.request_id.startsWith("load-"));
    assert.equal(load.length, total);
    assert.equal(new Set(load.map((e) => e.request_id)).size, total);
    const verified = await runAuditCli(["verify", auditDir], { GATEWAY_AUDIT_HMAC_KEY: readFileSync(path.join(auditDir, "hmac.key"), "utf8") });
    assert.equal(verified.exitCode, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /OK/);
  });

  it("a log-injection attempt (CR/LF and JSON fragments in names, paths and headers) yields one well-formed event each", async () => {
    const forged = '\r\n{"type":"event","action":"DeleteExperiment","forged":true}\u2028';
    const ids = [`inject-body-${randomUUID()}`, `inject-query-${randomUUID()}`, `inject-path-${randomUUID()}`];
    const create = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { ...aliceHeaders(ids[0] as string), "content-type": "application/json", "user-agent": 'agent","action":"DeleteRun","x":"' },
      body: JSON.stringify({ name: `injected${forged}`, experiment_id: `1${forged}` }),
    });
    assert.ok(create.status < 500);
    const query = await fetch(`${gateway.url}/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(`abc${forged}`)}`, {
      headers: aliceHeaders(ids[1] as string),
    });
    assert.ok(query.status >= 400 && query.status < 500);
    const pathInjection = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/get%0D%0A%7B%22forged%22%3Atrue%7D`, {
      headers: aliceHeaders(ids[2] as string),
    });
    assert.ok(pathInjection.status >= 400 && pathInjection.status < 500);

    const events = await waitForAuditEvents(auditDir, ids);
    for (const id of ids) assert.equal(events.filter((e) => e.request_id === id).length, 1, `one event for ${id}`);
    // Every line in the files is one whole record: nothing forged a line of its own.
    const lines = readAuditLines(auditDir);
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      assert.equal(record["forged"], undefined);
      assert.ok(typeof record["hash"] === "string");
    }
    const body = events.find((e) => e.request_id === ids[0]) as AuditEventRecord;
    assert.equal(body.user_agent, 'agent","action":"DeleteRun","x":"', "a JSON fragment stays inside its string");
    assert.equal(body.action, "CreateExperiment");
    assert.doesNotMatch(String(body.objects.experiment_id), /[\r\n\u2028]/);
    const byQuery = events.find((e) => e.request_id === ids[1]) as AuditEventRecord;
    assert.equal(byQuery.objects.run_id, 'abc  {"type":"event","action":"DeleteExperiment","forged":true} ');
    const byPath = events.find((e) => e.request_id === ids[2]) as AuditEventRecord;
    assert.doesNotMatch(byPath.path, /[\r\n]/);
  });

  it("`npm run audit -- verify` passes the files as written and names the line that was edited, removed or reordered", async () => {
    const key = { GATEWAY_AUDIT_HMAC_KEY: readFileSync(path.join(auditDir, "hmac.key"), "utf8") };
    const name = readdirSync(auditDir).find((n) => n.endsWith(".jsonl")) as string;
    const copy = mkdtempSync(path.join(tmpdir(), "audit-tamper-"));
    try {
      mkdirSync(copy, { recursive: true });
      const file = path.join(copy, name);
      copyFileSync(path.join(auditDir, name), file);
      const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
      assert.equal((await runAuditCli(["verify", copy], key)).exitCode, 0);

      const edited = [...lines];
      edited[9] = (edited[9] as string).replace(/"status":\d+/, '"status":200').replace(/"action":"[A-Za-z]+"/, '"action":"GetExperiment"');
      if (edited[9] === lines[9]) edited[9] = edited[9].replace('"method":"', '"method":"X');
      writeFileSync(file, `${edited.join("\n")}\n`);
      const editedResult = await runAuditCli(["verify", copy], key);
      assert.equal(editedResult.exitCode, 1);
      assert.match(editedResult.stdout, new RegExp(`\\[altered\\][^\\n]*${name}:10\\b`));

      writeFileSync(file, `${lines.filter((_, i) => i !== 4).join("\n")}\n`);
      const removed = await runAuditCli(["verify", copy], key);
      assert.equal(removed.exitCode, 1);
      assert.match(removed.stdout, new RegExp(`\\[removed\\][^\\n]*${name}:5\\b`));

      const swapped = [...lines];
      [swapped[6], swapped[7]] = [swapped[7] as string, swapped[6] as string];
      writeFileSync(file, `${swapped.join("\n")}\n`);
      const reordered = await runAuditCli(["verify", copy], key);
      assert.equal(reordered.exitCode, 1);
      assert.match(reordered.stdout, new RegExp(`\\[(removed|reordered)\\][^\\n]*${name}:7\\b`));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
    // The events are all still there to be read by the admin page too.
    assert.ok(readAuditEvents(auditDir).length > 5_000);
    await sleep(0);
  });
});
