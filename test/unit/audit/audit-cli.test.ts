// `npm run audit` as a reviewer runs it: a child process over real files written the way the
// gateway writes them, then tampered with one way at a time.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { canonicalJson, HashChain } from "../../../src/audit/hash-chain.js";
import { auditEvent, AuditLogWriter, TEST_AUDIT_KEY } from "../../support/signed-audit-log.js";

const REPO = path.resolve(import.meta.dirname, "../../..");
const CLI = path.join(REPO, "src/cli/audit.ts");
const STREAM_A = "gw-20261128T090000Z-aaaaaa";
const STREAM_B = "gw-20261128T120000Z-bbbbbb";
const temps: string[] = [];

after(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI with a clean environment: no key and no workspace unless the test gives them. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("DATABRICKS_") && name !== "GATEWAY_AUDIT_HMAC_KEY"),
  );
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO, env: { ...base, ...env } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const WITH_KEY = { GATEWAY_AUDIT_HMAC_KEY: TEST_AUDIT_KEY };

interface Trail {
  dir: string;
  files: { a1: string; a2: string; a3: string; b1: string };
  lines: { a1: string[]; a2: string[]; a3: string[]; b1: string[] };
}

/**
 * Two streams in the file sink's layout. A: three parts over two days, closed by a shutdown
 * digest; B (in a subfolder): still open, one record after its last digest.
 */
async function writeTrail(): Promise<Trail> {
  const dir = await mkdtemp(path.join(tmpdir(), "audit-cli-"));
  temps.push(dir);
  const a = new AuditLogWriter(STREAM_A);
  const b = new AuditLogWriter(STREAM_B);
  const lines = {
    a1: [a.event(), a.event(), a.event(), a.event(), a.digest("interval"), a.event(), a.event()],
    a2: [a.event(), a.event(), a.digest("rotation")],
    a3: [a.event(), a.event(), a.digest("shutdown")],
    b1: [b.event(), b.event(), b.digest("interval"), b.event()],
  };
  await mkdir(path.join(dir, "b"));
  const files = {
    a1: path.join(dir, `audit-2026-11-28-${STREAM_A}-0001.jsonl`),
    a2: path.join(dir, `audit-2026-11-28-${STREAM_A}-0002.jsonl`),
    a3: path.join(dir, `audit-2026-11-29-${STREAM_A}-0001.jsonl`),
    b1: path.join(dir, "b", `audit-2026-11-28-${STREAM_B}-0001.jsonl`),
  };
  await rewrite(files.a1, lines.a1);
  await rewrite(files.a2, lines.a2);
  await rewrite(files.a3, lines.a3);
  await rewrite(files.b1, lines.b1);
  await writeFile(path.join(dir, "notes.txt"), "not audit data\n");
  return { dir, files, lines };
}

async function rewrite(file: string, lines: string[]): Promise<void> {
  await writeFile(file, lines.map((line) => `${line}\n`).join(""));
}

function problemLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) => /^ {2}\[/.test(line));
}

describe("audit verify", { concurrency: true }, () => {
  it("accepts an untouched trail, checks the signatures and says how far each stream is vouched for", async () => {
    const trail = await writeTrail();
    const result = await runCli(["verify", trail.dir], WITH_KEY);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const lines = result.stdout.split("\n");
    assert.equal(lines[0], "OK: 17 records (13 events, 4 digests) in 2 streams, read from 4 files.");
    assert.equal(lines[1], "Digest signatures were checked with the key in GATEWAY_AUDIT_HMAC_KEY.");
    assert.match(
      result.stdout,
      new RegExp(`${STREAM_A}: 13 records, up to seq 13; ends with its shutdown signed digest \\(.*-0001\\.jsonl:3\\): complete\\.`),
    );
    assert.match(
      result.stdout,
      new RegExp(`${STREAM_B}: 4 records, up to seq 4; its last signed digest \\(.*:3\\) covers seq 2; the 1 record after it rest on`),
    );
    assert.ok(!result.stdout.includes(TEST_AUDIT_KEY) && !result.stderr.includes(TEST_AUDIT_KEY), "the key is never printed");
  });

  it("reads files named in any order in each stream's write order", async () => {
    const { files } = await writeTrail();
    const result = await runCli(["verify", files.a3, files.b1, files.a1, files.a2], WITH_KEY);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /^OK: 17 records/);
  });

  it("without a key, checks the chain and says the signatures were NOT checked", async () => {
    const trail = await writeTrail();
    const result = await runCli(["verify", trail.dir]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^OK: 17 records/);
    assert.match(result.stdout, /Digest signatures were NOT checked: no key \(set GATEWAY_AUDIT_HMAC_KEY or pass --key-env NAME\)/);
  });

  it("reads the key from the variable --key-env names", async () => {
    const trail = await writeTrail();
    const result = await runCli(["verify", trail.dir, "--key-env", "REVIEW_KEY"], { REVIEW_KEY: TEST_AUDIT_KEY });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /checked with the key in REVIEW_KEY\./);
  });

  it("after a key rotation, accepts each stream with the key that signed it and names that key", async () => {
    const { dir, files } = await writeTrail();
    // Stream B was written after a rotation: signed with the new key; A (older) with the retired one.
    const rotated = "the-new-key-after-the-rotation-0123456789";
    const b = new AuditLogWriter(STREAM_B, Buffer.from(rotated, "utf8"));
    await rewrite(files.b1, [b.event(), b.event(), b.digest("interval"), b.event()]);
    const env = { GATEWAY_AUDIT_HMAC_KEY: rotated, AUDIT_KEY_RETIRED: TEST_AUDIT_KEY };

    const both = await runCli(["verify", dir, "--key-env", "GATEWAY_AUDIT_HMAC_KEY", "--key-env", "AUDIT_KEY_RETIRED"], env);
    assert.equal(both.code, 0, both.stdout + both.stderr);
    const lines = both.stdout.split("\n");
    assert.equal(
      lines[1],
      "Digest signatures were checked with the keys in GATEWAY_AUDIT_HMAC_KEY, AUDIT_KEY_RETIRED; each stream names the one that signed it.",
    );
    assert.match(both.stdout, new RegExp(`  ${STREAM_A}: .*: complete\\. Signed with the key in AUDIT_KEY_RETIRED\\.\\n`));
    assert.match(both.stdout, new RegExp(`  ${STREAM_B}: .* would go unnoticed\\. Signed with the key in GATEWAY_AUDIT_HMAC_KEY\\.\\n`));
    assert.ok(!both.stdout.includes(rotated) && !both.stdout.includes(TEST_AUDIT_KEY), "no key's value is printed");

    const newOnly = await runCli(["verify", dir], env);
    assert.equal(newOnly.code, 1);
    assert.match(newOnly.stdout, /^FAILED: 3 problems in 17 records/, "one per digest of the older stream");
    assert.ok(
      problemLines(newOnly.stdout).every((line) => line.includes(`(stream ${STREAM_A},`) && line.includes("[bad-digest]")),
      newOnly.stdout,
    );
    assert.match(newOnly.stdout, new RegExp(`No digest of 1 stream \\(${STREAM_A}\\) verifies with this key\\.`));

    const twice = await runCli(
      ["verify", dir, "--key-env", "AUDIT_KEY_RETIRED", "--key-env", "AUDIT_KEY_RETIRED", "--key-env", "GATEWAY_AUDIT_HMAC_KEY"],
      env,
    );
    assert.equal(twice.code, 0, twice.stdout);
    assert.match(twice.stdout, /checked with the keys in AUDIT_KEY_RETIRED, GATEWAY_AUDIT_HMAC_KEY;/, "a name given twice counts once");
  });

  it("names an edited line", async () => {
    const { dir, files, lines } = await writeTrail();
    lines.a1[2] = (lines.a1[2] ?? "").replace('"action":"GetRun"', '"action":"DeleteRun"');
    await rewrite(files.a1, lines.a1);
    const result = await runCli(["verify", dir], WITH_KEY);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^FAILED: 1 problem in 17 records/);
    assert.deepEqual(problemLines(result.stdout), [
      `  [altered] ${files.a1}:3 (stream ${STREAM_A}, seq 3) was altered: its content does not match its hash`,
    ]);
  });

  it("names the place of a deleted line", async () => {
    const { dir, files, lines } = await writeTrail();
    lines.a1.splice(1, 1);
    await rewrite(files.a1, lines.a1);
    const result = await runCli(["verify", dir], WITH_KEY);
    assert.equal(result.code, 1);
    assert.deepEqual(problemLines(result.stdout), [
      `  [removed] 1 record(s) removed before ${files.a1}:2 (stream ${STREAM_A}, seq 3): expected seq 2`,
    ]);
  });

  it("catches the last line of a part removed, from the next part", async () => {
    const { dir, files, lines } = await writeTrail();
    await rewrite(files.a1, lines.a1.slice(0, -1));
    const result = await runCli(["verify", dir], WITH_KEY);
    assert.equal(result.code, 1);
    assert.deepEqual(problemLines(result.stdout), [
      `  [removed] 1 record(s) removed before ${files.a2}:1 (stream ${STREAM_A}, seq 8): expected seq 7`,
    ]);
  });

  it("names two swapped lines once, at the one that came late", async () => {
    const { dir, files, lines } = await writeTrail();
    [lines.a1[1], lines.a1[2]] = [lines.a1[2] ?? "", lines.a1[1] ?? ""];
    await rewrite(files.a1, lines.a1);
    const result = await runCli(["verify", dir], WITH_KEY);
    assert.equal(result.code, 1);
    assert.deepEqual(problemLines(result.stdout), [
      `  [reordered] ${files.a1}:3 (stream ${STREAM_A}, seq 2) is out of order: it belongs before ${files.a1}:2 (seq 3)`,
    ]);
  });

  it("names an inserted line even when it carries a valid hash of its own", async () => {
    const { dir, files, lines } = await writeTrail();
    const forger = new HashChain(STREAM_A, { seq: 2, hash: "f".repeat(64) });
    lines.a1.splice(2, 0, canonicalJson(forger.append({ type: "event", ...auditEvent({ action: "DeleteRun" }) })));
    await rewrite(files.a1, lines.a1);
    const result = await runCli(["verify", dir], WITH_KEY);
    assert.equal(result.code, 1);
    const problems = problemLines(result.stdout);
    assert.equal(problems.length, 1, result.stdout);
    assert.match(
      problems[0] ?? "",
      new RegExp(`^  \\[inserted\\] ${files.a1}:3 \\(stream ${STREAM_A}, seq 3\\) does not link to the record before it \\(${files.a1}:2\\)`),
    );
  });

  it("refuses digests forged without the key, and says a keyless check cannot tell", async () => {
    const { dir, files } = await writeTrail();
    // Rewritten end to end with fresh hashes: only the signature gives it away.
    const forger = new AuditLogWriter(STREAM_B, Buffer.from("an-attacker-key-that-is-long-enough-too", "utf8"));
    await rewrite(files.b1, [forger.event({ action: "GetRun" }), forger.event(), forger.digest("interval"), forger.event()]);
    const checked = await runCli(["verify", dir], WITH_KEY);
    assert.equal(checked.code, 1);
    assert.deepEqual(problemLines(checked.stdout), [
      `  [bad-digest] ${files.b1}:3 (stream ${STREAM_B}, seq 3) is a digest whose signature does not verify with the key in GATEWAY_AUDIT_HMAC_KEY`,
    ]);
    assert.match(
      checked.stdout,
      new RegExp(`No digest of 1 stream \\(${STREAM_B}\\) verifies with this key\\. A stream written before a key rotation`),
    );
    const unchecked = await runCli(["verify", dir]);
    assert.equal(unchecked.code, 0);
    assert.match(unchecked.stdout, /NOT checked/);
  });

  it("names a cut line", async () => {
    const { dir, files, lines } = await writeTrail();
    await writeFile(files.b1, `${lines.b1.slice(0, 3).join("\n")}\n${(lines.b1[3] ?? "").slice(0, 40)}`);
    const result = await runCli(["verify", dir], WITH_KEY);
    assert.equal(result.code, 1);
    assert.deepEqual(problemLines(result.stdout), [`  [unreadable] ${files.b1}:4 is not JSON`]);
  });

  it("exits 2 with a clear message when it cannot run", async () => {
    const trail = await writeTrail();
    await mkdir(path.join(trail.dir, "empty"));
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["verify"], {}, /verify needs at least one audit file, directory or volume path/],
      [["verify", trail.dir, "--bogus"], {}, /Unknown option '--bogus'/],
      [["verify", path.join(trail.dir, "missing")], {}, /missing does not exist\nNothing was concluded/],
      [["verify", path.join(trail.dir, "empty")], {}, /empty holds no \.jsonl files/],
      [["verify", trail.dir, "--key-env", "REVIEW_KEY"], {}, /--key-env REVIEW_KEY: REVIEW_KEY is not set/],
      [
        ["verify", trail.dir, "--key-env", "REVIEW_KEY", "--key-env", "OLD_KEY"],
        { REVIEW_KEY: TEST_AUDIT_KEY },
        /--key-env OLD_KEY: OLD_KEY is not set/,
      ],
      [
        ["verify", trail.dir, "--key-env", "REVIEW_KEY", "--key-env", "OLD_KEY"],
        { REVIEW_KEY: TEST_AUDIT_KEY, OLD_KEY: "short" },
        /OLD_KEY is shorter than 32/,
      ],
      [["verify", trail.dir], { GATEWAY_AUDIT_HMAC_KEY: "short" }, /GATEWAY_AUDIT_HMAC_KEY is shorter than 32 characters/],
      [["inspect", trail.dir], {}, /unknown command "inspect"; use verify or search/],
      [["verify", "/Volumes/main/audit/events"], {}, /needs the workspace and credentials[\s\S]*DATABRICKS_HOST/],
    ];
    const results = await Promise.all(cases.map(([args, env]) => runCli(args, env)));
    cases.forEach(([args, , message], index) => {
      const result = results[index];
      assert.equal(result?.code, 2, `${args.join(" ")}: ${result?.stdout}${result?.stderr}`);
      assert.match(result.stderr, message);
      assert.ok(!result.stderr.includes('"short"'), "a key's value is never shown");
    });
  });

  it("prints help", async () => {
    const result = await runCli(["--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: npm run audit -- <command> \[options\]/);
  });
});

/** One stream of varied calls, with a digest in the middle that no search may return. */
async function writeSearchTrail(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "audit-search-"));
  temps.push(dir);
  const w = new AuditLogWriter(STREAM_A);
  const bob = { email: "bob@example.com", user_name: "bob@example.com", subject: "bob@example.com" };
  const lines = [
    w.event({ event_id: "s1", action: "DeleteRun", objects: { run_id: "r1" }, event_time: "2026-11-20T10:00:00.000Z" }),
    w.event({
      event_id: "s2",
      action: "DeleteRun",
      method: "POST",
      objects: { run_id: "r2" },
      event_time: "2026-11-27T10:00:00.000Z",
      principal: bob,
      outcome: { status: 403, error_code: "PERMISSION_DENIED", decision: "deny", decided_by: "read-only", gateway_error: "POLICY_DENIED" },
    }),
    w.event({ event_id: "s3", action: "CreateRun", objects: { experiment_id: "7" }, event_time: "2026-11-27T11:00:00.000Z" }),
    w.digest("interval"),
    w.event({
      event_id: "s4",
      action: "GetModelVersion",
      objects: { model_name: "main.ml.churn", version: "7" },
      event_time: "2026-11-27T12:00:00.000Z",
      principal: bob,
      outcome: { status: 404, error_code: "RESOURCE_DOES_NOT_EXIST" },
    }),
    w.event({
      event_id: "s5",
      action: "DeleteExperiment",
      objects: { experiment_id: "70" },
      event_time: "2026-11-28T10:00:00.000Z",
      principal: { email: "ann@example.com", user_name: "ann@example.com", subject: "ann@example.com" },
      outcome: { status: 401, error_code: "UNAUTHENTICATED", decision: "deny", decided_by: "identity" },
    }),
  ];
  await writeFile(path.join(dir, `audit-2026-11-28-${STREAM_A}-0001.jsonl`), lines.map((line) => `${line}\n`).join(""));
  return dir;
}

async function searchIds(dir: string, args: string[]): Promise<string[]> {
  const result = await runCli(["search", dir, "--format", "json", ...args]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { event_id: string }).event_id);
}

describe("audit search", { concurrency: true }, () => {
  it("finds actions in any case, any of a comma list", async () => {
    assert.deepEqual(await searchIds(await writeSearchTrail(), ["--action", "deleterun,DELETEEXPERIMENT"]), ["s1", "s2", "s5"]);
  });

  it("finds a person by the name before @", async () => {
    assert.deepEqual(await searchIds(await writeSearchTrail(), ["--person", "Alice"]), ["s1", "s3"]);
  });

  it("finds objects by value or by field=value", async () => {
    const dir = await writeSearchTrail();
    assert.deepEqual(await searchIds(dir, ["--object", "7"]), ["s3", "s4"]);
    assert.deepEqual(await searchIds(dir, ["--object", "experiment_id=7"]), ["s3"]);
  });

  it("finds outcomes by decision and by status class", async () => {
    const dir = await writeSearchTrail();
    assert.deepEqual(await searchIds(dir, ["--outcome", "deny"]), ["s2", "s5"]);
    assert.deepEqual(await searchIds(dir, ["--outcome", "4xx", "--person", "bob@example.com"]), ["s2", "s4"]);
  });

  it("keeps a time window, and stops at the limit", async () => {
    const dir = await writeSearchTrail();
    assert.deepEqual(await searchIds(dir, ["--since", "2026-11-27", "--until", "2026-11-28"]), ["s2", "s3", "s4"]);
    assert.deepEqual(await searchIds(dir, ["--since", "2026-11-27", "--limit", "2"]), ["s2", "s3"]);
  });

  it("prints a table with time, person, action, objects, status, decision/rule and duration", async () => {
    const result = await runCli(["search", await writeSearchTrail(), "--person", "bob", "--outcome", "deny"]);
    assert.equal(result.code, 0, result.stderr);
    const [header, row, footer, end] = result.stdout.split("\n");
    assert.match(header ?? "", /^TIME +PERSON +ACTION +OBJECTS +STATUS +DECISION\/RULE +DURATION$/);
    assert.deepEqual(row?.split(/ {2,}/), [
      "2026-11-27T10:00:00.000Z",
      "bob@example.com",
      "DeleteRun",
      "run_id=r2",
      "403 PERMISSION_DENIED (POLICY_DENIED)",
      "deny/read-only",
      "12 ms",
    ]);
    assert.equal(footer, "1 record matched.");
    assert.equal(end, "");
  });

  it("reports every bad option at once and exits 2", async () => {
    const result = await runCli([
      "search",
      await writeSearchTrail(),
      "--since",
      "yesterday",
      "--limit",
      "0",
      "--outcome",
      "denied",
      "--format",
      "csv",
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--format "csv": use table or json/);
    const again = await runCli(["search", await writeSearchTrail(), "--since", "yesterday", "--limit", "0", "--outcome", "denied"]);
    assert.equal(again.code, 2);
    for (const name of ['--since: "yesterday"', '--limit: "0"', '--outcome: "denied"']) assert.ok(again.stderr.includes(name), again.stderr);
  });
});

describe("the audit fixture", () => {
  it("is written as the gateway writes: canonical JSON lines", async () => {
    const { files } = await writeTrail();
    const first = (await readFile(files.a1, "utf8")).split("\n")[0] ?? "";
    assert.equal(first, canonicalJson(JSON.parse(first)));
  });
});
