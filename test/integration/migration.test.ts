import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { execa } from "execa";
import type { WorkspaceEmulator } from "../emulator/index.js";
import { freePort, startServerProcess, type ServerProcess } from "../emulator/server-process.js";
import type { FrontDoor } from "../front-door/front-door.js";
import { type AppStack, startAppStack } from "../support/app-stack.js";
import { readAuditEvents } from "../support/audit-files.js";
import { REPO_ROOT } from "../support/gateway-process.js";
import { mlflowServerArgs } from "../support/mlflow-server-args.js";
import { PYTHON, runPythonJson } from "../support/python.js";
import { waitFor } from "../support/wait-for.js";

// docs/migration.md's promise, end to end: a self-hosted MLflow server (SQLite and served
// artifacts) copied into the app in Databricks mode (client -> front door -> gateway ->
// workspace emulator) with the documented command; verified; run again; cut off by a
// workspace failure midway and finished by running it again.

const ALICE = "alice@example.com";
const SCHEMA = "main.migrated";
const SOURCE_TOKEN = "source-server-token-4f1c";
/** Where the gateway writes run files in the workspace (src/artifacts/artifact-locations.ts). */
const RUN_FILES_PREFIX = "/api/2.0/fs/files/WorkspaceInternal/Mlflow/Artifacts";

interface Manifest {
  runs: Record<
    string,
    { experiment: string; params: Record<string, string>; metric_points: number; files: Record<string, string>; user: string; parent: string | null }
  >;
  models: Record<string, { versions: Record<string, { run_id: string; model_id: string }>; aliases: Record<string, string> }>;
}
interface Summary {
  counts: Record<string, number> | Record<"source" | "target", Record<string, number>>;
  problems?: string[];
  differences?: string[];
}

let app: AppStack;
let workspace: WorkspaceEmulator;
let frontDoor: FrontDoor;
let source: ServerProcess;
let sourceProxy: Server;
let sourceUrl: string;
/** The source server itself, for changes made at the source after the copy (not through the recording proxy). */
let sourceDirectUrl: string;
let aliceToken: string;
let auditDir: string;
let manifest: Manifest;
/** Authorization headers the source server received. */
const sourceAuthorizations = new Set<string>();
const work = mkdtempSync(path.join(tmpdir(), "migration-test-"));

/** The source behind a recording proxy, to show which credentials reach it. */
async function startSourceProxy(upstreamPort: number): Promise<string> {
  sourceProxy = createServer((req, res) => {
    sourceAuthorizations.add(req.headers.authorization ?? "(none)");
    const forward = request({ host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => sourceProxy.listen(0, "127.0.0.1", resolve));
  const address = sourceProxy.address();
  assert.ok(address && typeof address === "object");
  return `http://127.0.0.1:${String(address.port)}`;
}

before(async () => {
  const port = await freePort();
  source = await startServerProcess({
    name: "source mlflow server",
    command: path.join(REPO_ROOT, ".venv/bin/mlflow"),
    args: mlflowServerArgs({ port, backendStoreUri: `sqlite:///${work}/source.db`, artifactsDestination: path.join(work, "source-artifacts") }),
    isReady: async () => (await fetch(`http://127.0.0.1:${String(port)}/health`).catch(() => undefined))?.ok === true,
    startTimeoutMs: 60_000,
  });
  sourceDirectUrl = `http://127.0.0.1:${String(port)}`;
  sourceUrl = await startSourceProxy(port);
  app = await startAppStack({ user: ALICE, modelSchema: SCHEMA });
  ({ workspace, frontDoor, auditDir, token: aliceToken } = app);
  manifest = await runPythonJson<Manifest>("migration_seed.py", [sourceUrl]);
  // From here on, only the migration talks to the source.
  sourceAuthorizations.clear();
});
after(async () => {
  await app?.stop();
  await new Promise((resolve) => sourceProxy?.close(resolve));
  await source?.stop();
});

/** The command docs/migration.md gives, with the app's token and the source's in their own variables. */
function migrate(args: string[], onLine?: (line: string) => void) {
  const child = execa("npm", ["run", "--silent", "migrate", "--", ...args], {
    cwd: REPO_ROOT,
    reject: false,
    env: {
      MIGRATE_TARGET_TOKEN: aliceToken,
      MIGRATE_SOURCE_TOKEN: SOURCE_TOKEN,
      // A token in MLflow's own variable must not reach either server.
      MLFLOW_TRACKING_TOKEN: "stray-token-from-the-environment",
      // Fail fast on the injected workspace failure instead of retrying for minutes.
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
      PYTHONWARNINGS: "ignore",
    },
  });
  if (onLine) {
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      lines.forEach(onLine);
    });
  }
  return child;
}

// Experiments keep their plain names: the app files them under its experiment root.
const MAPPING = ["--from", "", "--to", "", "--catalog", "main", "--schema", "migrated"];
function mapping(): string[] {
  return MAPPING.map((arg, i) => (i === 1 ? sourceUrl : i === 3 ? frontDoor.url : arg));
}

async function appJson<T>(route: string, body?: unknown): Promise<T> {
  const answer = await fetch(`${frontDoor.url}${route}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${aliceToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(answer.status, 200, `${route}: ${await answer.clone().text()}`);
  return (await answer.json()) as T;
}

/** Every run in the migrated experiments, with its copy state, read through the app. */
async function copiedRuns(): Promise<{ source: string; state: string }[]> {
  const found: { source: string; state: string }[] = [];
  for (const team of ["team-0", "team-1", "team-2"]) {
    const experiment = await fetch(`${frontDoor.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(team)}`, {
      headers: { authorization: `Bearer ${aliceToken}` },
    });
    if (experiment.status === 404) continue;
    const id = ((await experiment.json()) as { experiment: { experiment_id: string } }).experiment.experiment_id;
    const page = await appJson<{ runs?: { data: { tags?: { key: string; value: string }[] } }[] }>("/api/2.0/mlflow/runs/search", {
      experiment_ids: [id],
      max_results: 1000,
    });
    for (const run of page.runs ?? []) {
      const tags = Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
      found.push({ source: tags["migration.source_run_id"] ?? "", state: tags["migration.state"] ?? "" });
    }
  }
  return found;
}

describe("migration from a self-hosted MLflow server into the app", () => {
  it("plans without writing anything (--dry-run), naming where each object goes", async () => {
    // A folder of one's own is planned here only: it must exist before a real copy (docs/migration.md).
    const dry = await migrate(["copy", ...mapping(), "--experiment-root", "/Shared/migrated", "--dry-run"]);
    assert.equal(dry.exitCode, 0, dry.stderr);
    assert.match(dry.stdout, /experiment 'team-0' -> '\/Shared\/migrated\/team-0' \(new\): 10 run\(s\), 0 already copied/);
    assert.match(dry.stdout, /registered model 'Churn Model' -> 'main\.migrated\.churn_model': 3 version\(s\)/);
    assert.match(dry.stdout, /registered model 'fraud-detector' -> 'main\.migrated\.fraud_detector': 2 version\(s\)/);
    assert.match(dry.stdout, /Dry run: nothing was written\./);
    assert.deepEqual(await copiedRuns(), []);
  });

  it("stops at a workspace failure midway, keeps what it copied, and finishes when run again", async () => {
    let copied = 0;
    const first = await migrate(["copy", ...mapping()], (line) => {
      // After twelve runs every write of run files fails, as when the workspace has an outage.
      if (/^ {2}run \d+\/\d+ \S+ -> \S+: copied/.test(line) && ++copied === 12) {
        workspace.faults.set({ serverError: { status: 500, pathPrefix: RUN_FILES_PREFIX } });
      }
    });
    workspace.faults.clear();
    assert.equal(first.exitCode, 1, first.stdout);
    assert.match(first.stderr, /migrate: stopped: .*\nWhat was copied is kept; run the same command again to resume\./);
    const cut = await copiedRuns();
    assert.equal(cut.filter((r) => r.state === "complete").length, 12);
    // The run being copied when the workspace failed exists without its files: partial.
    assert.equal(cut.filter((r) => r.state === "partial").length, 1);

    const second = await migrate(["copy", ...mapping(), "--summary-json", path.join(work, "second.json")]);
    assert.equal(second.exitCode, 0, `${second.stdout}\n${second.stderr}`);
    const counts = (JSON.parse(readFileSync(path.join(work, "second.json"), "utf8")) as Summary).counts as Record<string, number>;
    assert.equal(counts["runs_skipped"], 12);
    assert.equal(counts["runs_resumed"], 1, "the partial run was finished, not copied again");
    assert.equal(counts["runs_copied"], 17);
    assert.equal(counts["versions_copied"], 5);
    assert.equal(counts["aliases_set"], 3);
    const done = await copiedRuns();
    assert.equal(done.length, 30);
    assert.deepEqual(new Set(done.map((r) => r.source)), new Set(Object.keys(manifest.runs)));
    assert.ok(done.every((r) => r.state === "complete"));
  });

  it("copies nothing twice when run again, and writes nothing", async () => {
    const seen = readAuditEvents(auditDir).length;
    const again = await migrate(["copy", ...mapping(), "--summary-json", path.join(work, "again.json")]);
    assert.equal(again.exitCode, 0, again.stderr);
    const counts = (JSON.parse(readFileSync(path.join(work, "again.json"), "utf8")) as Summary).counts as Record<string, number>;
    assert.deepEqual(
      [
        counts["runs_copied"],
        counts["runs_resumed"],
        counts["runs_skipped"],
        counts["logged_models_copied"],
        counts["versions_copied"],
        counts["versions_skipped"],
        counts["aliases_set"],
      ],
      [0, 0, 30, 0, 0, 5, 0],
    );
    assert.equal((await copiedRuns()).length, 30);
    // The audit trail of the rerun, up to a marker call made after it: reads only.
    const marker = `/api/2.0/mlflow/experiments/get-by-name?experiment_name=after-rerun-${String(Date.now())}`;
    await fetch(`${frontDoor.url}${marker}`, { headers: { authorization: `Bearer ${aliceToken}` } });
    const events = await waitFor("the marker's audit event", () => {
      const all = readAuditEvents(auditDir).slice(seen);
      return all.some((e) => marker.startsWith(e.path) && e.action === "GetExperimentByName") ? all : undefined;
    });
    const writes = events.filter((e) => /^(Create|Log|Set|Update|Finalize|Delete|Upload|Rename)/.test(e.action));
    assert.deepEqual(
      writes.map((e) => `${e.action} ${e.path}`),
      [],
    );
    assert.ok(events.length > 30, "the rerun read every run's copy");
  });

  it("verifies the copy: counts, values and file hashes", async () => {
    const verified = await migrate(["verify", ...mapping(), "--hashes", "--summary-json", path.join(work, "verify.json")]);
    assert.equal(verified.exitCode, 0, verified.stdout);
    assert.match(verified.stdout, /OK: every object has exactly one copy with the same values and file hashes\./);
    const summary = JSON.parse(readFileSync(path.join(work, "verify.json"), "utf8")) as Summary;
    const counts = summary.counts as Record<"source" | "target", Record<string, number>>;
    const files = Object.values(manifest.runs).reduce((n, r) => n + Object.keys(r.files).length, 0);
    const points = Object.values(manifest.runs).reduce((n, r) => n + r.metric_points, 0);
    for (const side of ["source", "target"] as const) {
      assert.equal(counts[side]["runs"], 30, side);
      assert.equal(counts[side]["metric_points"], points, side);
      assert.equal(counts[side]["artifact_files"], files, side);
      assert.equal(counts[side]["registered_models"], 2, side);
      assert.equal(counts[side]["versions"], 5, side);
      assert.equal(counts[side]["aliases"], 3, side);
    }
  });

  it("keeps the original ids and authors, maps parents, and gives a model that loads by its alias", async () => {
    const check = await runPythonJson<{ problems: string[]; checked: number; champion_predictions: number }>(
      "migration_check.py",
      [frontDoor.url, JSON.stringify(manifest), "main.migrated"],
      { MLFLOW_TRACKING_TOKEN: aliceToken },
    );
    assert.deepEqual(check.problems, []);
    assert.equal(check.checked, 30);
    assert.equal(check.champion_predictions, 5);
  });

  it("sends each server only its own credentials", () => {
    assert.deepEqual([...sourceAuthorizations], [`Bearer ${SOURCE_TOKEN}`]);
    // The app's side: the front door accepts Alice's token only, so every write above carried it.
  });

  it("brings the copy up to date before the cut-over (--sync): a new run, and a new point of a copied run", async () => {
    const sourceCall = async <T>(route: string, body: unknown): Promise<T> => {
      const answer = await fetch(`${sourceDirectUrl}${route}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(answer.status, 200, await answer.clone().text());
      return (await answer.json()) as T;
    };
    const [copiedRun] = Object.keys(manifest.runs);
    await sourceCall("/api/2.0/mlflow/runs/log-metric", { run_id: copiedRun, key: "loss", value: 0.01, timestamp: 1_700_000_300_000, step: 25 });
    const experiment = (await (await fetch(`${sourceDirectUrl}/api/2.0/mlflow/experiments/get-by-name?experiment_name=team-2`)).json()) as {
      experiment: { experiment_id: string };
    };
    const created = await sourceCall<{ run: { info: { run_id: string } } }>("/api/2.0/mlflow/runs/create", {
      experiment_id: experiment.experiment.experiment_id,
      start_time: 1_700_000_400_000,
      run_name: "late-run",
    });
    await sourceCall("/api/2.0/mlflow/runs/log-parameter", { run_id: created.run.info.run_id, key: "lr", value: "0.5" });
    await sourceCall("/api/2.0/mlflow/runs/update", { run_id: created.run.info.run_id, status: "FINISHED", end_time: 1_700_000_500_000 });

    const synced = await migrate(["copy", ...mapping(), "--sync", "--summary-json", path.join(work, "sync.json")]);
    assert.equal(synced.exitCode, 0, synced.stderr);
    const counts = (JSON.parse(readFileSync(path.join(work, "sync.json"), "utf8")) as Summary).counts as Record<string, number>;
    assert.deepEqual([counts["runs_copied"], counts["runs_updated"], counts["runs_skipped"], counts["metric_points"]], [1, 1, 29, 1]);
    assert.match(synced.stdout, new RegExp(`run \\d+/10 ${copiedRun ?? ""} -> \\w+: brought up to date \\(1 metric point\\(s\\), 0 file\\(s\\)\\)`));
    const verified = await migrate(["verify", ...mapping(), "--summary-json", path.join(work, "verify-sync.json")]);
    assert.equal(verified.exitCode, 0, verified.stdout);
    const after = (JSON.parse(readFileSync(path.join(work, "verify-sync.json"), "utf8")) as Summary).counts as Record<
      "source" | "target",
      Record<string, number>
    >;
    assert.equal(after.target["runs"], 31);
  });

  it("finds a changed value in the copy", async () => {
    const runs = await appJson<{ runs: { info: { run_id: string } }[] }>("/api/2.0/mlflow/runs/search", {
      experiment_ids: [
        (
          await appJson<{ experiment: { experiment_id: string } }>(
            `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent("team-1")}`,
          )
        ).experiment.experiment_id,
      ],
      max_results: 1,
    });
    const runId = runs.runs[0]?.info.run_id ?? "";
    await appJson("/api/2.0/mlflow/runs/log-metric", { run_id: runId, key: "loss", value: 42, timestamp: 1, step: 999 });
    const verified = await migrate(["verify", ...mapping()]);
    assert.equal(verified.exitCode, 1);
    assert.match(
      verified.stdout,
      /FAILED: 1 difference\(s\):\n {2}run \w+ of 'team-1' metric history: 50 point\(s\) at the source, 51 in the copy, not the same/,
    );
  });
  it("lists a version Unity Catalog refuses (no signature) as not copied, at once, and copies the rest", async () => {
    const seed = [
      "import sys, mlflow, numpy as np",
      "from sklearn.linear_model import LogisticRegression",
      "mlflow.set_tracking_uri(sys.argv[1]); mlflow.set_registry_uri(sys.argv[1])",
      "mlflow.set_experiment('no-signature')",
      "x = np.arange(20.0).reshape(10, 2); y = (x[:, 0] > 9).astype(int)",
      "with mlflow.start_run():",
      "    logged = mlflow.sklearn.log_model(LogisticRegression().fit(x, y), name='model')",
      "mlflow.register_model(f'models:/{logged.model_id}', 'no-signature-model')",
    ].join("\n");
    const seeded = await execa(PYTHON, ["-c", seed, sourceDirectUrl], { reject: false, env: { PYTHONWARNINGS: "ignore" } });
    assert.equal(seeded.exitCode, 0, seeded.stderr);

    const copy = await migrate(["copy", ...mapping(), "--experiment", "no-signature", "--model", "no-signature-model"]);
    assert.equal(copy.exitCode, 1, copy.stderr);
    // The child answers Unity Catalog's refusal as 400 INVALID_PARAMETER_VALUE (python/sitecustomize.py, fix 8), not a
    // 500 a client retries: the tool lists it and goes on.
    assert.match(
      copy.stdout,
      /not copied: version 1 of 'no-signature-model': INVALID_PARAMETER_VALUE: Model passed for registration did not contain any signature metadata/,
    );
    assert.match(copy.stdout, /run 1\/1 \w+ -> \w+: copied/);
    assert.match(copy.stdout, /1 object\(s\) could not be copied \(listed above as 'not copied'\)\./);
    assert.doesNotMatch(copy.stderr, /stopped/);
  });
});
