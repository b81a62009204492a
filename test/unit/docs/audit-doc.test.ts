// docs/audit.md's verify and search commands, run as a reviewer types them, over audit files
// written as the gateway writes them (hash-chained canonical JSON lines, signed digests). The
// volume is out of reach here (no workspace), so its commands read a copy of the trail in a
// local folder; reading a volume through the Files API is test/emulator-tests/audit-volume-read.test.ts.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { execa } from "execa";
import { bundleTarget } from "../../support/bundle.js";
import { type DocCommand, readDocCommands } from "../../support/doc-commands.js";
import { REPO_ROOT } from "../../support/gateway-process.js";
import { AuditLogWriter, type EventSpec } from "../../support/signed-audit-log.js";

const scratch = mkdtempSync(path.join(tmpdir(), "audit-doc-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const COMMANDS: DocCommand[] = readDocCommands(["docs/audit.md"]).commands.filter((c) => c.kind === "block");

/** The one command of audit.md's blocks whose comment matches. */
function command(comment: RegExp): string {
  const matching = COMMANDS.filter((c) => comment.test(c.comment));
  assert.equal(matching.length, 1, `one command of audit.md under a comment matching ${comment}: ${matching.map((c) => c.text).join(" | ")}`);
  return matching[0]?.text ?? "";
}

/** tsx by its absolute URL, since the commands run from folders without node_modules. */
const AUDIT_CLI = `node --import ${import.meta.resolve("tsx")} ${path.join(REPO_ROOT, "src/cli/audit.ts")}`;
const PROD = bundleTarget("prod");
const VOLUME = `/Volumes/${PROD.catalog}/${PROD.schema}/${PROD.volume}`;

/**
 * Runs a documented command in bash from `cwd`: `npm run audit --` is the same CLI from source
 * (npm would rebuild dist/ first), and the volume is the local copy `cwd`/volume-copy.
 */
async function run(text: string, cwd: string, env: Record<string, string> = {}) {
  const script = text.replace(/npm run (--silent )?audit --/g, AUDIT_CLI).replaceAll(VOLUME, path.join(cwd, "volume-copy"));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(DATABRICKS_|GATEWAY_|AUDIT_KEY)/.test(name)));
  const result = await execa("bash", ["-c", script], { cwd, env: { ...clean, ...env }, extendEnv: false, reject: false, stripFinalNewline: false });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const KEY = "c3".repeat(32);
const RETIRED = "d4".repeat(32);
const daysAgo = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();

/** A stream of `events` with a digest after every third, closed by a shutdown digest. */
function streamLines(stream: string, key: string, events: EventSpec[]): string[] {
  const writer = new AuditLogWriter(stream, Buffer.from(key, "utf8"));
  const lines: string[] = [];
  events.forEach((event, i) => {
    lines.push(writer.event(event));
    if (i % 3 === 2) lines.push(writer.digest("interval"));
  });
  lines.push(writer.digest("shutdown"));
  return lines;
}

/** A folder of the trail: the file sink's layout, or the volume's (`date=.../<stream>-<n>.jsonl`). */
function writeTrail(dir: string, streams: { stream: string; lines: string[] }[], layout: "files" | "volume"): void {
  for (const { stream, lines } of streams) {
    const file = layout === "files" ? `audit-2026-11-28-${stream}-0001.jsonl` : `date=2026-11-28/${stream}-00000001.jsonl`;
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), lines.map((line) => `${line}\n`).join(""));
  }
}

const ALICE = { email: "alice@example.com", user_name: "alice@example.com", subject: "alice@example.com" };
const BOB = { email: "bob@example.com", user_name: "bob@example.com", subject: "bob@example.com" };
const Y = { email: "y@example.com", user_name: "y@example.com", subject: "y@example.com" };
const DENIED = { status: 403, error_code: "PERMISSION_DENIED", decision: "deny" as const, decided_by: "read-only", gateway_error: "POLICY_DENIED" };

/** What the search examples look for, and what each must leave out. */
const SEARCH_EVENTS: EventSpec[] = [
  { request_id: "deleted-by-alice", action: "DeleteRun", event_time: daysAgo(1), principal: ALICE, objects: { run_id: "r1" } },
  { request_id: "delete-refused", action: "DeleteRun", event_time: daysAgo(1), principal: BOB, objects: { run_id: "r2" }, outcome: DENIED },
  { request_id: "deleted-long-ago", action: "DeleteRun", event_time: daysAgo(10), principal: ALICE, objects: { run_id: "r3" } },
  { request_id: "refused-to-y", action: "CreateRun", event_time: daysAgo(2), principal: Y, objects: { experiment_id: "7" }, outcome: DENIED },
  { request_id: "allowed-to-y", action: "GetRun", event_time: daysAgo(2), principal: Y, objects: { run_id: "r1" } },
  { request_id: "churn-alias", action: "SetRegisteredModelAlias", principal: ALICE, objects: { model_name: "main.ml.churn", alias: "champion" } },
  { request_id: "churn-version", action: "CreateModelVersion", principal: BOB, objects: { model_name: "main.ml.churn", version: "3" } },
  { request_id: "other-model", action: "CreateModelVersion", principal: BOB, objects: { model_name: "main.ml.other", version: "1" } },
];

describe("audit.md: checking the trail (npm run audit -- verify)", () => {
  let cwd: string;
  const older = "gw-20261120T081502114Z-3fa2c1";
  const newer = "gw-20261128T090011873Z-77b0de";

  before(() => {
    cwd = mkdtempSync(path.join(scratch, "verify-"));
    // Locally: one stream, its key in hmac.key next to the files, as a gateway without GATEWAY_AUDIT_HMAC_KEY keeps it.
    writeTrail(path.join(cwd, ".data/audit"), [{ stream: newer, lines: streamLines(newer, KEY, SEARCH_EVENTS) }], "files");
    writeFileSync(path.join(cwd, ".data/audit/hmac.key"), KEY);
    // The volume: a stream from before a key rotation, signed with the retired key, and one after it.
    writeTrail(
      path.join(cwd, "volume-copy"),
      [
        { stream: older, lines: streamLines(older, RETIRED, SEARCH_EVENTS.slice(0, 4)) },
        { stream: newer, lines: streamLines(newer, KEY, SEARCH_EVENTS.slice(4)) },
      ],
      "volume",
    );
  });

  it("names the prod target's audit volume", () => {
    const volumes = new Set(COMMANDS.flatMap((c) => c.text.match(/\/Volumes\/\S+/g) ?? []));
    assert.deepEqual([...volumes], [VOLUME]);
  });

  it("the local files, with the key in hmac.key: complete and signed", async () => {
    const result = await run(command(/The local files of a development machine/), cwd);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^OK: 11 records \(8 events, 3 digests\) in 1 stream, read from 1 file\.\n/);
    assert.match(result.stdout, /\nDigest signatures were checked with the key in GATEWAY_AUDIT_HMAC_KEY\.\n/);
    assert.match(result.stdout, new RegExp(`\\n  ${newer}: .*: complete\\.`));
  });

  it("the volume with the app's key: the streams after the rotation verify, the older one names the retired key as the way out", async () => {
    const result = await run(command(/The volume, read through the Databricks Files API/), cwd, { GATEWAY_AUDIT_HMAC_KEY: KEY });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^FAILED: 2 problems /);
    assert.match(result.stdout, new RegExp(`\\n  ${newer}: .*: complete\\.`));
    assert.match(result.stdout, /verify again with it added \(--key-env NAME, once per key\)/);
  });

  it("another variable holding the key (--key-env AUDIT_KEY)", async () => {
    const result = await run(command(/Another variable holds the key/), cwd, { AUDIT_KEY: RETIRED });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /\nDigest signatures were checked with the key in AUDIT_KEY\.\n/);
    assert.match(result.stdout, new RegExp(`\\n  ${older}: .*: complete\\.`));
  });

  it("after a key rotation, both keys: every stream verifies and names the variable whose key signed it", async () => {
    const result = await run(command(/After a key rotation: the current key and the retired one/), cwd, {
      GATEWAY_AUDIT_HMAC_KEY: KEY,
      AUDIT_KEY_RETIRED: RETIRED,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^OK: 12 records \(8 events, 4 digests\) in 2 streams, read from 2 files\.\n/);
    assert.match(result.stdout, new RegExp(`\\n  ${older}: .*: complete\\. Signed with the key in AUDIT_KEY_RETIRED\\.\\n`));
    assert.match(result.stdout, new RegExp(`\\n  ${newer}: .*: complete\\. Signed with the key in GATEWAY_AUDIT_HMAC_KEY\\.\\n`));
  });
});

describe("audit.md: finding events (npm run audit -- search)", () => {
  let cwd: string;

  before(() => {
    cwd = mkdtempSync(path.join(scratch, "search-"));
    const stream = "gw-20261128T090011873Z-77b0de";
    writeTrail(path.join(cwd, "volume-copy"), [{ stream, lines: streamLines(stream, KEY, SEARCH_EVENTS) }], "volume");
  });

  /** The request ids of a search's table rows (each row's objects name a run, experiment or model; the ids are not shown). */
  const rows = (stdout: string): string[] => stdout.split("\n").filter((line) => /^\d{4}-\d\d-\d\dT/.test(line));

  it("who deleted runs in the last 7 days and was let through: only that one, as a table", async () => {
    const result = await run(command(/Who deleted runs in the last 7 days/), cwd);
    assert.equal(result.code, 0, result.stderr);
    const found = rows(result.stdout);
    assert.equal(found.length, 1, result.stdout);
    assert.match(found[0] ?? "", /alice@example\.com +DeleteRun +run_id=r1 +200 +allow\/policy/);
    assert.match(result.stdout, /^TIME +PERSON +ACTION +OBJECTS +STATUS +DECISION\/RULE +DURATION\n/);
    assert.match(result.stdout, /\n1 record matched\.\n?$/);
  });

  it("every call refused to one person", async () => {
    const result = await run(command(/Every call by one person that the gateway refused/), cwd);
    assert.equal(result.code, 0, result.stderr);
    const found = rows(result.stdout);
    assert.equal(found.length, 1, result.stdout);
    assert.match(found[0] ?? "", /y@example\.com +CreateRun +experiment_id=7 +403 PERMISSION_DENIED \(POLICY_DENIED\) +deny\/read-only/);
  });

  it("everything that happened to a model, as JSON lines in churn.jsonl", async () => {
    const text = command(/Everything that happened to a model/);
    assert.match(text, / > churn\.jsonl$/);
    const result = await run(text, cwd);
    assert.equal(result.code, 0, result.stderr);
    const records = readFileSync(path.join(cwd, "churn.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { request_id: string; type: string });
    assert.deepEqual(
      records.map((r) => [r.type, r.request_id]),
      [
        ["event", "churn-alias"],
        ["event", "churn-version"],
      ],
    );
    assert.match(result.stderr, /2 records matched/, "the count goes to stderr, leaving the file pure JSON lines");
  });
});
