// docs/operations.md is run, not just read: its commands run here against what the gateway
// really writes (the audit trail's modules, the request pipeline in-process with its real
// logger, access log and audit sinks), and what cannot run here (the databricks CLI: no
// workspace is reachable) is checked against the bundle it must agree with.

import { closeServer, localPipelineDependencies } from "../../support/local-pipeline.js";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { execa } from "execa";
import { AuditTrail, newStreamId } from "../../../src/audit/audit-trail.js";
import { createAuditTrail } from "../../../src/audit/create-audit-trail.js";
import { FileSink } from "../../../src/audit/sinks/file-sink.js";
import { StdoutSink } from "../../../src/audit/sinks/stdout-sink.js";
import { MIN_HMAC_KEY_LENGTH } from "../../../src/config/audit-config.js";
import { loadConfig } from "../../../src/config/load-config.js";
import { createApp } from "../../../src/http/create-app.js";
import { listen } from "../../../src/http/serve.js";
import { AccessLogWriter } from "../../../src/log/access-log-writer.js";
import { createLogger } from "../../../src/log/create-logger.js";
import { createMetrics } from "../../../src/metrics/metrics.js";
import { Supervisor } from "../../../src/supervisor/supervisor.js";
import { captureLogger } from "../../support/capture-logger.js";
import { bundleAppKey, type BundleTarget, bundleTarget, bundleTargets, hmacKeySecret } from "../../support/bundle.js";
import { REPO_ROOT } from "../../support/gateway-process.js";
import { auditEvent, AuditLogWriter } from "../../support/signed-audit-log.js";

const DOC = readFileSync(path.join(REPO_ROOT, "docs/operations.md"), "utf8");
const scratch = mkdtempSync(path.join(tmpdir(), "operations-doc-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------
// Reading the doc

interface Block {
  lang: string;
  text: string;
  /** The `##` section it is in. */
  section: string;
}

function blocks(): Block[] {
  const found: Block[] = [];
  let section = "";
  const lines = DOC.split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? "";
    if (line.startsWith("## ")) section = line.slice(3);
    const fence = /^```(\w*)$/.exec(line);
    if (fence === null) continue;
    const end = lines.indexOf("```", i + 1);
    assert.ok(end > i, `code block at line ${i + 1} is closed`);
    found.push({ lang: fence[1] ?? "", text: lines.slice(i + 1, end).join("\n"), section });
    i = end;
  }
  return found;
}

/** A section's text, from its `##` heading to the next one. */
function section(title: string): string {
  const start = DOC.indexOf(`\n## ${title}\n`);
  assert.ok(start !== -1, `operations.md has a section "${title}"`);
  const end = DOC.indexOf("\n## ", start + 1);
  return DOC.slice(start, end === -1 ? undefined : end);
}

/** Shell commands of the sh blocks, continuation lines joined, each with the comment above it. */
function commands(sectionTitle?: string): { comment: string; command: string }[] {
  const found: { comment: string; command: string }[] = [];
  for (const block of blocks().filter((b) => b.lang === "sh" && (sectionTitle === undefined || b.section === sectionTitle))) {
    let comment = "";
    let pending = "";
    for (const line of block.text.split("\n")) {
      if (line.startsWith("#")) {
        comment = line.replace(/^#\s*/, "");
        continue;
      }
      if (line.trim() === "") continue;
      pending += line.endsWith("\\") ? `${line.slice(0, -1)} ` : line;
      if (line.endsWith("\\")) continue;
      found.push({ comment, command: pending.replace(/\s+/g, " ").trim() });
      pending = "";
    }
  }
  return found;
}

/** The one command of a section whose comment or text matches. */
function command(sectionTitle: string, match: RegExp): string {
  const matching = commands(sectionTitle).filter((c) => match.test(c.comment) || match.test(c.command));
  assert.equal(matching.length, 1, `one command in "${sectionTitle}" matches ${match}: ${matching.map((c) => c.command).join(" | ")}`);
  return matching[0]?.command ?? "";
}

/** The text block right after the sh block holding `command`: the output the doc says it prints. */
function documentedOutput(commandText: string): string {
  const all = blocks();
  const index = all.findIndex(
    (b) =>
      b.lang === "sh" &&
      b.text
        .replace(/\\\n\s*/g, "")
        .replace(/\s+/g, " ")
        .includes(commandText),
  );
  const next = all[index + 1];
  assert.ok(index !== -1 && next?.lang === "text", `a text block follows the command ${commandText}`);
  return `${next.text}\n`;
}

// ---------------------------------------------------------------------------------------
// Running the doc's commands

/** tsx by its absolute URL: the commands run from folders that have no node_modules. */
const AUDIT_CLI = `node --import ${import.meta.resolve("tsx")} ${path.join(REPO_ROOT, "src/cli/audit.ts")}`;

/**
 * Runs a documented command in bash as an operator would, from `cwd`. `npm run audit --` runs
 * the same CLI from source (npm would rebuild dist/ first), and the gateway's local URL
 * becomes the in-process one's.
 */
async function run(text: string, options: { cwd: string; env?: Record<string, string>; url?: string }) {
  let script = text.replace(/npm run (--silent )?audit --/g, AUDIT_CLI);
  if (options.url !== undefined) script = script.replaceAll("http://localhost:8000", options.url);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("DATABRICKS_") && !name.startsWith("GATEWAY_") && name !== "AUDIT_KEY_RETIRED"),
  );
  const result = await execa("bash", ["-c", script], {
    cwd: options.cwd,
    env: { ...env, ...options.env },
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
  });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

before(async () => {
  const jq = await execa("bash", ["-c", "command -v jq"], { reject: false });
  assert.equal(jq.exitCode, 0, "jq is missing: install it with `apt-get install jq` (scripts/setup.sh --with-test-deps does as root)");
});

// ---------------------------------------------------------------------------------------
// Rotating the audit key

const ROTATION = "Rotating the audit key";

describe("operations.md: rotating the audit key", () => {
  it("the documented local rotation, on the real audit trail: both keys verify the trail, each stream names its key", async () => {
    const cwd = path.join(scratch, "rotation-real");
    mkdirSync(cwd);
    const config = loadConfig({ GATEWAY_DATA_DIR: path.join(cwd, ".data") }, { repoRoot: REPO_ROOT }).audit;
    assert.equal(config.dir, path.join(cwd, ".data/audit"), "the doc's .data/audit is the local audit folder");

    const writeStream = async (): Promise<{ stream: string; generated: boolean }> => {
      const { logger, lines } = captureLogger();
      const trail = createAuditTrail(config, { workspace: undefined, logger });
      trail.record(auditEvent());
      trail.record(auditEvent({ action: "CreateRun" }));
      trail.digest("interval");
      trail.record(auditEvent({ action: "DeleteRun" }));
      await trail.close(Date.now() + 2_000);
      return { stream: trail.stream, generated: lines.some((line) => line["message"] === "generated a local audit digest key") };
    };

    const first = await writeStream();
    const retire = command(ROTATION, /retire the key file/);
    assert.match(retire, /^mv \.data\/audit\/hmac\.key /);
    const moved = await run(retire, { cwd });
    assert.equal(moved.code, 0, moved.stderr);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await writeStream();
    assert.ok(first.generated && second.generated, "each start without a key file generates one, and says so as the doc quotes");
    const keyFile = (name: string): string => readFileSync(path.join(cwd, ".data/audit", name), "utf8");
    assert.notEqual(keyFile("hmac.key"), keyFile("hmac.key.retired-2026-12-01"), "the second stream has a key of its own");

    const both = await run(command(ROTATION, /\.data\/audit --key-env GATEWAY_AUDIT_HMAC_KEY --key-env AUDIT_KEY_RETIRED/), { cwd });
    assert.equal(both.code, 0, both.stdout + both.stderr);
    assert.match(both.stdout, /^OK: 10 records \(6 events, 4 digests\) in 2 streams, read from 2 files\.\n/);
    assert.match(both.stdout, new RegExp(`\\n  ${first.stream}: .*: complete\\. Signed with the key in AUDIT_KEY_RETIRED\\.\\n`));
    assert.match(both.stdout, new RegExp(`\\n  ${second.stream}: .*: complete\\. Signed with the key in GATEWAY_AUDIT_HMAC_KEY\\.\\n`));

    const newOnly = await run(command(ROTATION, /verify \.data\/audit$/), { cwd });
    assert.equal(newOnly.code, 1, newOnly.stdout + newOnly.stderr);
    const problems = newOnly.stdout.split("\n").filter((line) => line.startsWith("  ["));
    assert.equal(problems.length, 2, "both digests of the older stream");
    assert.ok(
      problems.every((line) => line.startsWith("  [bad-digest] ") && line.includes(`(stream ${first.stream}, `)),
      newOnly.stdout,
    );
    assert.match(
      newOnly.stdout,
      new RegExp(`\\nNo digest of 1 stream \\(${first.stream}\\) verifies with this key\\. .*--key-env NAME, once per key.*\\n$`),
    );
  });

  /** The trail of the doc's example output: one stream signed with the retired key, one with the new. */
  function exampleTrail(name: string, current = "b2".repeat(32)): string {
    const cwd = path.join(scratch, name);
    const dir = path.join(cwd, ".data/audit");
    mkdirSync(dir, { recursive: true });
    const retired = "a1".repeat(32);
    const older = new AuditLogWriter("gw-20261120T081502114Z-3fa2c1", Buffer.from(retired, "utf8"));
    const newer = new AuditLogWriter("gw-20261201T090011873Z-77b0de", Buffer.from(current, "utf8"));
    const files: Record<string, string[]> = {
      [`audit-2026-11-20-${older.stream}-0001.jsonl`]: [
        older.event(),
        older.event(),
        older.event(),
        older.digest("interval"),
        older.event(),
        older.event(),
        older.digest("shutdown"),
      ],
      [`audit-2026-12-01-${newer.stream}-0001.jsonl`]: [newer.event(), newer.event(), newer.digest("interval"), newer.event()],
    };
    for (const [file, lines] of Object.entries(files)) writeFileSync(path.join(dir, file), lines.map((line) => `${line}\n`).join(""));
    writeFileSync(path.join(dir, "hmac.key"), current);
    writeFileSync(path.join(dir, "hmac.key.retired-2026-12-01"), retired);
    return cwd;
  }

  it("prints exactly the outputs the doc shows, with both keys and with the new key only", async () => {
    const cwd = exampleTrail("rotation-example");
    for (const [match, exitCode] of [
      [/\.data\/audit --key-env GATEWAY_AUDIT_HMAC_KEY --key-env AUDIT_KEY_RETIRED/, 0],
      [/verify \.data\/audit$/, 1],
    ] as const) {
      const text = command(ROTATION, match);
      const result = await run(text, { cwd });
      assert.equal(result.code, exitCode, result.stderr);
      assert.equal(result.stdout, documentedOutput(text));
    }
  });

  it("on Databricks: the new key from step 1 and the retired one verify the trail, on the prod target's volume", async () => {
    const cwd = path.join(scratch, "rotation-databricks");
    mkdirSync(cwd);
    const generate = await run(command(ROTATION, /A new key, in a file only you can read/), { cwd });
    assert.equal(generate.code, 0, generate.stderr);
    const file = path.join(cwd, "audit-hmac-key.new");
    assert.equal(statSync(file).mode & 0o777, 0o600, "only its owner can read it");
    const key = readFileSync(file, "utf8").trim();
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.ok(key.length >= MIN_HMAC_KEY_LENGTH, "long enough for the gateway");
    exampleTrail("rotation-databricks", key);

    const text = command(ROTATION, /verify \/Volumes\//);
    const volume = /verify (\/Volumes\/\S+)/.exec(text)?.[1] ?? "";
    const target = bundleTarget("prod");
    assert.equal(volume, `/Volumes/${target.catalog}/${target.schema}/${target.volume}`, "the prod target's audit volume");
    // The volume read through the Files API is out of reach here; the same command on a copy of the trail is not.
    const exportNew = command(ROTATION, /^export GATEWAY_AUDIT_HMAC_KEY=/);
    const script = `${exportNew}\n${text.replace(volume, ".data/audit")}`;
    const result = await run(script, { cwd, env: { AUDIT_KEY_RETIRED: "a1".repeat(32) } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /Signed with the key in AUDIT_KEY_RETIRED\.\n.*Signed with the key in GATEWAY_AUDIT_HMAC_KEY\.\n$/s);
  });
});

// ---------------------------------------------------------------------------------------
// The databricks commands, against the bundle (no workspace is reachable from here)

/** Every `databricks ...` command of the doc, in code blocks and in inline code (a bare command name is a mention, not a command). */
function databricksCommands(): string[] {
  const inBlocks = commands()
    .map((c) => c.command)
    .filter((c) => c.startsWith("databricks "));
  const inline = [...DOC.replace(/```[\s\S]*?```/g, "").matchAll(/`(databricks [^`]+)`/g)].map((m) => m[1] ?? "");
  return [...inBlocks, ...inline].filter((text) => text.split(" ").length > 3);
}

/** The flags `databricks apps logs` knows (databricks/cli, cmd/workspace/apps/logs.go). */
const APPS_LOGS_FLAGS = new Set(["--tail-lines", "--follow", "-f", "--timeout", "--search", "--source", "--output-file"]);

describe("operations.md: the databricks commands agree with the bundle", () => {
  const targets = bundleTargets();
  const secret = hmacKeySecret();

  it("finds the bundle's names and the doc's commands (so the checks below can fail)", () => {
    assert.deepEqual(
      targets.map((t) => [t.name, t.appName, t.scope]),
      [
        ["dev", "mlflow-gateway-dev", "mlflow-gateway-dev"],
        ["prod", "mlflow-gateway", "mlflow-gateway"],
      ],
    );
    assert.equal(secret?.key, "audit-hmac-key", "app.yaml's GATEWAY_AUDIT_HMAC_KEY comes from the secret resource");
    const found = databricksCommands().map((c) => c.split(" ").slice(0, 3).join(" "));
    for (const expected of ["databricks secrets put-secret", "databricks bundle run", "databricks apps deploy", "databricks apps logs"]) {
      assert.ok(found.includes(expected), `the doc has ${expected}: ${found.join(", ")}`);
    }
  });

  it("names the bundle's scope, secret key, app and target, all of one target", () => {
    for (const text of databricksCommands()) {
      const [, group, verb, first, second] = text.split(" ");
      const fits: BundleTarget[] = [];
      if (group === "secrets" && verb === "put-secret") {
        assert.equal(second, secret?.key, `${text}: the key app.yaml maps to GATEWAY_AUDIT_HMAC_KEY`);
        const keyFile = / > (\S+)$/.exec(command(ROTATION, /A new key, in a file only you can read/))?.[1];
        assert.ok(text.endsWith(` --string-value "$(cat ${keyFile ?? "?"})"`), `${text}: the value from the file step 1 wrote`);
        fits.push(...targets.filter((t) => t.scope === first));
      } else if (group === "bundle" && (verb === "run" || verb === "deploy")) {
        if (verb === "run") assert.equal(first, bundleAppKey, `${text}: the bundle's app resource`);
        const target = /(?:^| )-t (\w+)/.exec(text)?.[1];
        fits.push(...targets.filter((t) => t.name === target));
      } else if (group === "apps" && (verb === "deploy" || verb === "logs")) {
        fits.push(...targets.filter((t) => t.appName === first));
        if (verb === "logs") {
          const flags = (text.split("|")[0] ?? "").match(/ (--?[\w-]+)/g)?.map((flag) => flag.trim()) ?? [];
          assert.deepEqual(
            flags.filter((flag) => !APPS_LOGS_FLAGS.has(flag)),
            [],
            `${text}: flags of databricks apps logs`,
          );
        }
      } else {
        assert.fail(`${text}: a databricks command this test does not know; add its check`);
      }
      assert.deepEqual(
        fits.map((t) => t.name),
        ["prod"],
        `${text}: names the prod target's objects (the doc's commands are for prod)`,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------
// Readiness, metrics and logs, on the request pipeline in-process

interface Pipeline {
  url: string;
  /** Everything the gateway printed on stdout: operational log, access log, audit lines. */
  stdout: () => string;
  accessLog: AccessLogWriter;
  metricsText: () => Promise<string>;
  cwd: string;
  close: () => Promise<void>;
}

/**
 * The whole pipeline with every real stage (local identity, policy, route table), a child
 * that is never started (so MLflow calls get 503 CHILD_NOT_READY), and stdout as in
 * Databricks mode: the JSON operational log, the access log and the audit trail's stdout
 * sink on one stream; the audit file sink writes .data/audit under `cwd`.
 */
async function startPipeline(): Promise<Pipeline> {
  const cwd = path.join(scratch, "pipeline");
  mkdirSync(cwd);
  const config = loadConfig({ GATEWAY_DATA_DIR: path.join(cwd, ".data") }, { repoRoot: REPO_ROOT });
  const out = new PassThrough();
  let text = "";
  out.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  const logger = createLogger("info", { format: "json", stream: out });
  const supervisor = new Supervisor({ command: { file: "/bin/false", args: [], env: {} }, port: 9, startTimeoutMs: 1_000, logger });
  const metrics = createMetrics();
  const stream = newStreamId();
  const audit = new AuditTrail({
    stream,
    sinks: [
      new FileSink({ dir: config.audit.dir, stream, maxBytes: config.audit.fileMaxBytes, fsyncIntervalMs: 50, onEvent: () => undefined }),
      new StdoutSink(out),
    ],
    hmacKey: randomBytes(32),
    digestIntervalMs: 60_000,
    onFailure: "refuse-writes",
    logger,
  });
  metrics.observeChild(supervisor.status());
  metrics.trackAudit(() => ({ ...audit.stats(), ok: audit.check().ok }));
  metrics.trackKeyFetches(() => ({ fetches: 1, failures: 0 }));
  const accessLog = new AccessLogWriter("info", out);
  const app = createApp(localPipelineDependencies({ config, logger, supervisor, metrics, audit, accessLog }));
  const { server, port } = await listen(app, "127.0.0.1", 0);
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    stdout: () => text,
    accessLog,
    metricsText: () => metrics.registry.metrics(),
    cwd,
    close: async () => {
      if (closed) return;
      closed = true;
      await closeServer(server);
      await audit.close(Date.now() + 2_000);
      accessLog.flush();
    },
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * gateway.log as an operator's file holds it: npm's own lines, an answer from two hours ago
 * (a real access line, re-dated), then everything the pipeline printed.
 */
function writeLogFile(gateway: Pipeline): { file: string; lines: Record<string, unknown>[] } {
  const json = gateway
    .stdout()
    .split("\n")
    .filter((line) => line !== "");
  const sample = json.find((line) => line.includes('"source":"access"') && line.includes('"error":"CHILD_NOT_READY"')) ?? "{}";
  const twoHoursAgo = {
    ...(JSON.parse(sample) as object),
    requestId: "ops-doc-two-hours-ago",
    time: new Date(Date.now() - 2 * 3600_000).toISOString(),
  };
  const file = path.join(gateway.cwd, "gateway.log");
  writeFileSync(file, ["> mlflow-gateway local", "==> Building", JSON.stringify(twoHoursAgo), ...json, ""].join("\n"));
  return { file, lines: [twoHoursAgo, ...json.map((line) => JSON.parse(line) as Record<string, unknown>)] };
}

describe("operations.md: readiness, metrics and log queries", () => {
  let gateway: Pipeline;
  let log: { file: string; lines: Record<string, unknown>[] };
  /** Request ids the test sent, by what the call was. */
  const ids = { childNotReady: "ops-doc-child-not-ready", notFound: "ops-doc-route-not-found", ready: "ops-doc-ready" };

  before(async () => {
    gateway = await startPipeline();
    const call = (pathAndQuery: string, id: string, init: RequestInit = {}) =>
      fetch(`${gateway.url}${pathAndQuery}`, { ...init, headers: { "X-Request-Id": id, ...init.headers } }).then((r) => r.arrayBuffer());
    await call("/api/2.0/mlflow/experiments/get?experiment_id=1", ids.childNotReady);
    await call("/api/2.0/mlflow/experiments/get?experiment_id=2", `${ids.childNotReady}-2`);
    await call("/api/2.0/mlflow/no-such-endpoint", ids.notFound);
    await call("/-/ready", ids.ready);
    // The access log writer the pipeline uses, with the fields logAccess gives it: a slow call and one just under the bound.
    const timed = { source: "access", method: "POST", path: "/api/2.0/mlflow/runs/search", status: 200, operation: "SearchRuns", class: "read" };
    gateway.accessLog.write({ ...timed, requestId: "ops-doc-slow", durationMs: 2500.25 });
    gateway.accessLog.write({ ...timed, requestId: "ops-doc-fast", durationMs: 1999.5 });
    gateway.accessLog.write({ ...timed, requestId: "ops-doc-500", durationMs: 12, status: 500, error: "UPSTREAM_ERROR" });
    await nextTurn();
    await nextTurn();
    log = writeLogFile(gateway);
  });

  after(async () => {
    await gateway.close();
  });

  const READINESS = "Readiness and metrics";

  it("the readiness commands answer as the doc says: the status, the failing checks, the child", async () => {
    const status = await run(command(READINESS, /200 or 503/), { cwd: gateway.cwd, url: gateway.url });
    assert.equal(status.stdout, "503\n", "not ready: the child never started");
    const failing = await run(command(READINESS, /checks that fail/), { cwd: gateway.cwd, url: gateway.url });
    const checks = JSON.parse(failing.stdout) as Record<string, { ok: boolean; detail: string }>;
    assert.deepEqual(Object.keys(checks), ["mlflow"], "only the failing check, not the audit one");
    assert.equal(checks["mlflow"]?.ok, false);
    const child = await run(command(READINESS, /The child:/), { cwd: gateway.cwd, url: gateway.url });
    assert.deepEqual(Object.keys(JSON.parse(child.stdout) as object), ["phase", "crashLoop", "restarts", "consecutiveFailures"]);
  });

  it("the metrics command prints the five series the doc names, once each", async () => {
    const result = await run(command(READINESS, /worth alerting on/), { cwd: gateway.cwd, url: gateway.url });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout
        .trim()
        .split("\n")
        .map((line) => line.split(" ")[0]),
      [
        "mlflow_gateway_child_up",
        "mlflow_gateway_child_crash_loop",
        "mlflow_gateway_child_restarts_total",
        "mlflow_gateway_audit_queue_events",
        "mlflow_gateway_audit_durable",
      ],
    );
  });

  it("names only metrics the gateway exports, with labels they have", async () => {
    const exposition = await gateway.metricsText();
    const exported = new Set([...exposition.matchAll(/^(mlflow_gateway_\w+)(?:\{([^}]*)\})? /gm)].map((m) => m[1] ?? ""));
    const named = new Set([...DOC.matchAll(/\bmlflow_gateway_\w+/g)].map((m) => m[0]));
    assert.ok(named.size >= 10 && exported.has("mlflow_gateway_http_request_duration_seconds_bucket"), [...named].join(","));
    assert.deepEqual(
      [...named].filter((name) => !exported.has(name)),
      [],
      "metric names in operations.md that /-/metrics does not export",
    );
    for (const [, name, matchers] of DOC.matchAll(/(mlflow_gateway_\w+)\{([^}]*)\}/g)) {
      const labels = [...(matchers ?? "").matchAll(/(\w+)\s*=~?/g)].map((m) => m[1] ?? "");
      const series = [...exposition.matchAll(new RegExp(`^${name ?? ""}\\{([^}]*)\\}`, "gm"))].map((m) => m[1] ?? "");
      for (const label of labels)
        assert.ok(
          series.some((s) => s.includes(`${label}="`)),
          `${name ?? ""} has a label ${label}`,
        );
    }
  });

  it("describes every readiness check troubleshooting.md has, each linked to its entry", () => {
    const troubleshooting = readFileSync(path.join(REPO_ROOT, "docs/troubleshooting.md"), "utf8");
    const readiness = troubleshooting.slice(
      troubleshooting.indexOf("## Readiness checks"),
      troubleshooting.indexOf("\n## ", troubleshooting.indexOf("## Readiness checks") + 1),
    );
    const documented = [...readiness.matchAll(/^### `([\w-]+)`/gm)].map((m) => m[1] ?? "");
    const rows = [...section(READINESS).matchAll(/^\| `([\w-]+)` +\|.*\(troubleshooting\.md#([\w-]+)\)/gm)].map((m) => [m[1], m[2]]);
    assert.ok(documented.length >= 7, documented.join(","));
    assert.deepEqual(
      rows,
      documented.map((check) => [check, check]),
    );
  });

  // ---- Logs

  const LOGS = "Log queries";

  const jsonLines = (stdout: string): Record<string, unknown>[] =>
    stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("the log holds what the queries look for (so they can fail)", () => {
    const { lines } = log;
    const access = lines.filter((line) => line["source"] === "access");
    assert.ok(access.some((line) => line["error"] === "CHILD_NOT_READY" && line["status"] === 503));
    assert.ok(access.some((line) => line["error"] === "ROUTE_NOT_FOUND" && line["status"] === 404));
    assert.ok(access.some((line) => line["requestId"] === ids.ready && line["status"] === 503 && line["error"] === undefined));
    assert.ok(
      lines.some((line) => line["type"] === "event" && line["request_id"] === ids.childNotReady),
      "audit events on stdout",
    );
    for (const field of ["time", "level", "message", "source", "requestId", "method", "path", "status", "durationMs", "class"]) {
      assert.ok(field in (access[1] ?? {}), `access lines carry ${field}, as the doc's table says`);
    }
  });

  it("selects the 5xx answers of the last hour, and only those", async () => {
    const { lines } = log;
    const result = await run(command(LOGS, /5xx answers in the last hour/), { cwd: gateway.cwd });
    assert.equal(result.code, 0, result.stderr);
    const expected = lines.filter(
      (line) => line["source"] === "access" && Number(line["status"]) >= 500 && Date.parse(String(line["time"])) > Date.now() - 3600_000,
    );
    assert.ok(expected.length >= 4, "the two CHILD_NOT_READY calls, the readiness answer and the 500");
    assert.ok(expected.some((line) => line["status"] === 500));
    assert.deepEqual(jsonLines(result.stdout), expected);
  });

  it("follows one request id across the access log and the audit events", async () => {
    const { lines } = log;
    const result = await run(command(LOGS, /select\(\.requestId == \$id/), { cwd: gateway.cwd, env: { ID: ids.childNotReady } });
    const found = jsonLines(result.stdout);
    assert.deepEqual(
      found,
      lines.filter((line) => line["requestId"] === ids.childNotReady || line["request_id"] === ids.childNotReady),
    );
    assert.deepEqual(found.map((line) => line["source"] ?? line["type"]).sort(), ["access", "event"], "the access line and the audit event");
    assert.match(DOC, /\nID=[\w-]+\n/, "the doc sets ID before using it");
  });

  it("lists the requests slower than the bound, as tab-separated columns", async () => {
    const result = await run(command(LOGS, /slower than 2000 ms/), { cwd: gateway.cwd });
    const rows = result.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t"));
    assert.deepEqual(
      rows.map((row) => row.slice(1)),
      [["2500.25", "200", "POST", "/api/2.0/mlflow/runs/search", "ops-doc-slow"]],
    );
    assert.match(rows[0]?.[0] ?? "", /^\d{4}-\d\d-\d\dT/);
  });

  it("counts the gateway's own answers by code, most frequent first", async () => {
    const { lines } = log;
    const result = await run(command(LOGS, /by code/), { cwd: gateway.cwd });
    const counted = result.stdout
      .trim()
      .split("\n")
      .map((line) => line.trim().split(/\s+/));
    const expected = new Map<string, number>();
    for (const line of lines) {
      if (line["source"] === "access" && typeof line["error"] === "string") expected.set(line["error"], (expected.get(line["error"]) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counted].sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
      [...expected].sort((a, b) => a[0].localeCompare(b[0])).map(([code, n]) => [String(n), code]),
    );
    assert.ok(
      counted.every((row, i) => i === 0 || Number(row[0]) <= Number(counted[i - 1]?.[0])),
      "most frequent first",
    );
    assert.deepEqual(counted[0], ["3", "CHILD_NOT_READY"], "two calls in the last hour and the older one");
  });

  it("finds the log lines of what the alerts watch, by the messages the gateway writes", async () => {
    // The messages as the source spells them: a reworded one would leave the query silently empty.
    const written = {
      "src/audit/audit-trail.ts": [
        "audit trail cannot record durably; applying the failure policy",
        "audit trail is recording durably again; calls are accepted",
      ],
      "src/supervisor/supervisor.ts": [
        "mlflow server is in a crash loop: ",
        "mlflow server stopped unexpectedly (",
        "mlflow server stopped answering /health (",
      ],
    };
    for (const [file, messages] of Object.entries(written)) {
      const source = readFileSync(path.join(REPO_ROOT, file), "utf8");
      for (const message of messages) assert.ok(source.includes(message), `${file} still writes "${message}"`);
    }
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    const logger = createLogger("info", { format: "json", stream: out });
    logger.error("audit trail cannot record durably; applying the failure policy", { policy: "refuse-writes", failing: ["file: ENOSPC"] });
    logger.warn("audit trail is recording durably again; calls are accepted");
    logger.info("starting mlflow server", { command: "mlflow server ..." });
    logger.warn("mlflow server stopped unexpectedly (exited with code 1); restarting in 1000 ms", { code: 1 });
    logger.error("mlflow server stopped answering /health (3 probes in a row); killing it to restart");
    logger.error(
      "mlflow server is in a crash loop: 5 consecutive failures (last: exited with code 1). Retrying every 30 s; its last output follows.",
    );
    logger.info("mlflow server is ready", { pid: 42 });
    logger.log("error", "mlflow server stopped: a line the child printed", { source: "mlflow", stream: "stderr", pid: 42 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const cwd = path.join(scratch, "alerts");
    mkdirSync(cwd);
    writeFileSync(path.join(cwd, "gateway.log"), text);
    const result = await run(command(LOGS, /What the alerts watch for/), { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((line) => String(line["message"]).split(/[;:(]/)[0]?.trim()),
      [
        "audit trail cannot record durably",
        "audit trail is recording durably again",
        "mlflow server stopped unexpectedly",
        "mlflow server stopped answering /health",
        "mlflow server is in a crash loop",
      ],
    );
  });

  it("strips the prefix databricks apps logs adds, leaving the gateway's JSON lines", async () => {
    const pipe = command(LOGS, /databricks apps logs/);
    const [, sed] = /^databricks apps logs .*? \| (sed .*?) > gateway\.log$/.exec(pipe) ?? [];
    assert.ok(sed, pipe);
    const original = gateway
      .stdout()
      .split("\n")
      .filter((line) => line !== "");
    // As the CLI prints an entry (databricks/cli, libs/logstream/streamer.go, formatLogEntry): RFC 3339 time, [source], message.
    const printed = original.map((line) => `2026-12-01T09:00:11Z [APP] ${line}`).join("\n");
    const result = await execa("bash", ["-c", sed], { input: `${printed}\n`, reject: false });
    assert.deepEqual(result.stdout.split("\n"), original);
  });

  it("finds the audit events of a request with audit search and jq", async () => {
    await gateway.close();
    const result = await run(command(LOGS, /search \.data\/audit/), { cwd: gateway.cwd, env: { ID: ids.notFound } });
    assert.equal(result.code, 0, result.stderr);
    const events = jsonLines(result.stdout);
    assert.deepEqual(
      events.map((event) => [event["type"], event["request_id"], (event["outcome"] as { gateway_error?: string } | undefined)?.gateway_error]),
      [["event", ids.notFound, "ROUTE_NOT_FOUND"]],
    );
    const volume = command(LOGS, /search \/Volumes\//);
    const target = bundleTarget("prod");
    assert.ok(volume.includes(`/Volumes/${target.catalog}/${target.schema}/${target.volume} `), "the prod target's volume");
    assert.equal(volume.replace(/\/Volumes\/\S+/, ".data/audit"), command(LOGS, /search \.data\/audit/), "the same command on the volume");
  });
});

// ---------------------------------------------------------------------------------------
// Links into other pages: the anchors must exist (links.test.ts checks the files)

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");
}

describe("operations.md: links", () => {
  it("point at headings that exist", () => {
    const dead: string[] = [];
    for (const [, file, fragment] of DOC.matchAll(/\]\(([\w-]*\.md)?#([^)]+)\)/g)) {
      const target = file === undefined ? DOC : readFileSync(path.join(REPO_ROOT, "docs", file), "utf8");
      const anchors = new Set([...target.matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf(m[1] ?? "")));
      if (!anchors.has(fragment ?? "")) dead.push(`${file ?? ""}#${fragment ?? ""}`);
    }
    assert.deepEqual(dead, []);
    assert.equal(anchorOf("Checking the trail: `npm run audit -- verify`"), "checking-the-trail-npm-run-audit----verify");
  });
});
