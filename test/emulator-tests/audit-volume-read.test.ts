// The reviewer's tool against the volume sink: batch objects under
// /Volumes/main/audit/events/date=.../ in the workspace emulator, read through the Files API
// with the service principal's OAuth credentials, as `npm run audit` does in production.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { openAuditSources } from "../../src/audit/read-audit-sources.js";
import { type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";
import { ucAdmin } from "../emulator/uc-admin.js";
import { AuditLogWriter, TEST_AUDIT_KEY } from "../support/signed-audit-log.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(REPO, "src/cli/audit.ts");
const ROOT = "/Volumes/main/audit/events";
const STREAM_A = "gw-20261128T090000Z-aaaaaa";
const STREAM_B = "gw-20261128T230000Z-bbbbbb";

let emu: WorkspaceEmulator;
let token: string;

/** Objects as the volume sink names them; stream A's third batch lands in the next day's folder. */
const a = new AuditLogWriter(STREAM_A);
const b = new AuditLogWriter(STREAM_B);
const OBJECTS: Record<string, string[]> = {
  [`${ROOT}/date=2026-11-28/${STREAM_A}-00000001.jsonl`]: [a.event(), a.event(), a.event(), a.digest("batch")],
  [`${ROOT}/date=2026-11-28/${STREAM_A}-00000002.jsonl`]: [a.event(), a.event({ event_id: "edit-me" }), a.digest("batch")],
  [`${ROOT}/date=2026-11-29/${STREAM_A}-00000003.jsonl`]: [
    a.event({
      event_id: "bob-deletes",
      action: "DeleteRun",
      objects: { run_id: "r9" },
      event_time: "2026-11-29T00:10:00.000Z",
      principal: { email: "bob@example.com", user_name: "bob@example.com", subject: "bob@example.com" },
    }),
    a.digest("shutdown"),
  ],
  [`${ROOT}/date=2026-11-28/${STREAM_B}-00000001.jsonl`]: [b.event(), b.event(), b.digest("batch")],
};

async function putObject(workspacePath: string, lines: string[]): Promise<void> {
  const encoded = workspacePath
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
  const response = await fetch(`${emu.url}/api/2.0/fs/files${encoded}?overwrite=true`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body: lines.map((line) => `${line}\n`).join(""),
  });
  assert.equal(response.status, 204, await response.text());
}

function workspaceEnv(): Record<string, string> {
  return {
    DATABRICKS_HOST: emu.url,
    DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
    DATABRICKS_CLIENT_SECRET: emu.servicePrincipal.secret,
  };
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("DATABRICKS_") && name !== "GATEWAY_AUDIT_HMAC_KEY"),
  );
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO, env: { ...base, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

before(async () => {
  emu = await startWorkspaceEmulator({ users: [{ userName: "admin@example.com", groups: ["admins"] }] });
  token = await emu.mintServicePrincipalToken();
  // The volume exists and the service principal (the gateway's identity, which writes the
  // batches) may write it, as an admin would have set up; the metastore starts empty.
  await (await ucAdmin(emu, "admin@example.com")).allowVolume("main.audit.events", emu.servicePrincipal.applicationId, "write");
  for (const [workspacePath, lines] of Object.entries(OBJECTS)) await putObject(workspacePath, lines);
});

after(async () => {
  await emu?.stop();
});

describe("reading the audit volume", () => {
  it("lists the volume page by page and orders objects by stream, then batch", async () => {
    emu.clearCalls();
    const sources = await openAuditSources([ROOT], { env: workspaceEnv(), pageSize: 1 });
    assert.deepEqual(
      sources.files.map((file) => file.path),
      [
        `${ROOT}/date=2026-11-28/${STREAM_A}-00000001.jsonl`,
        `${ROOT}/date=2026-11-28/${STREAM_A}-00000002.jsonl`,
        `${ROOT}/date=2026-11-29/${STREAM_A}-00000003.jsonl`,
        `${ROOT}/date=2026-11-28/${STREAM_B}-00000001.jsonl`,
      ],
    );
    const listings = emu.calls.filter((call) => call.method === "GET" && call.path.startsWith("/api/2.0/fs/directories/"));
    assert.equal(listings.length, 6, "one page per entry: 2 folders in the root, 3 objects on the 28th, 1 on the 29th");
    assert.ok(listings.every((call) => call.status === 200 && call.principalKind === "service_principal"));
    let lines = 0;
    for await (const line of sources.lines()) {
      assert.ok(line.source.startsWith(`${ROOT}/date=`) && line.line >= 1);
      lines += 1;
    }
    assert.equal(lines, 12);
  });

  it("verify checks the volume with the workspace's credentials and the digest key", async () => {
    const result = await runCli(["verify", ROOT], { ...workspaceEnv(), GATEWAY_AUDIT_HMAC_KEY: TEST_AUDIT_KEY });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^OK: 12 records \(8 events, 4 digests\) in 2 streams, read from 4 files\.\n/);
    assert.match(result.stdout, new RegExp(`${STREAM_A}: 9 records, up to seq 9; ends with its shutdown signed digest \\(${ROOT}/date=2026-11-29/`));
    assert.ok(!result.stdout.includes(emu.servicePrincipal.secret) && !result.stderr.includes(emu.servicePrincipal.secret));
  });

  it("search finds events on the volume, given as a dbfs: path", async () => {
    const result = await runCli(["search", `dbfs:${ROOT}/`, "--action", "DeleteRun", "--person", "bob", "--format", "json"], workspaceEnv());
    assert.equal(result.code, 0, result.stderr);
    const ids = result.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { event_id: string }).event_id);
    assert.deepEqual(ids, ["bob-deletes"]);
  });

  it("exits 2 and says why when the workspace refuses the credentials", async () => {
    const result = await runCli(["verify", ROOT], { ...workspaceEnv(), DATABRICKS_CLIENT_SECRET: "wrong-secret" });
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`cannot read ${ROOT} from http://127\\.0\\.0\\.1:\\d+: the workspace refused the client id/secret`));
    assert.ok(!result.stderr.includes("wrong-secret"));
  });

  it("verify names the volume object and line of an edit", async () => {
    const object = `${ROOT}/date=2026-11-28/${STREAM_A}-00000002.jsonl`;
    const edited = (OBJECTS[object] ?? []).map((line) => line.replace('"action":"GetRun"', '"action":"DeleteExperiment"'));
    await putObject(object, edited);
    const result = await runCli(["verify", ROOT], { ...workspaceEnv(), GATEWAY_AUDIT_HMAC_KEY: TEST_AUDIT_KEY });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^FAILED: 2 problems in 12 records/);
    assert.ok(result.stdout.includes(`  [altered] ${object}:1 (stream ${STREAM_A}, seq 5) was altered`), result.stdout);
    assert.ok(result.stdout.includes(`  [altered] ${object}:2 (stream ${STREAM_A}, seq 6) was altered`), result.stdout);
  });
});
