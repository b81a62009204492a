/**
 * The runnable examples in examples/, run exactly as examples/README.md tells a data scientist
 * to run them, so that they cannot rot: a local-mode gateway (train, the quality gate that
 * registers and moves an alias, the audit review script), then the same training and gate from
 * "a laptop" with only the app's URL and a user's token, through the front door to a gateway
 * in Databricks mode (workspace emulator, Unity Catalog model).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { execa } from "execa";
import type { WorkspaceEmulator } from "../emulator/index.js";
import type { FrontDoor } from "../front-door/front-door.js";
import { type AppStack, startAppStack } from "../support/app-stack.js";
import { readAuditEvents } from "../support/audit-files.js";
import { TEST_AUDIT_KEY } from "../support/databricks.js";
import { type GatewayProcess, REPO_ROOT, startGateway } from "../support/gateway-process.js";
import { PYTHON } from "../support/python.js";
import { waitFor } from "../support/wait-for.js";

const EXAMPLES = path.join(REPO_ROOT, "examples");
/** promote_if_better.py's exit code when the quality gate refuses the candidate. */
const GATE_REFUSED = 3;
/** Who a local-mode gateway says every caller is (GATEWAY_LOCAL_USER's default). */
const LOCAL_USER = "local-developer";
const STAMP = Date.now();

interface Trained {
  run_id: string;
  model_id: string;
  accuracy: number;
}

interface Promoted {
  model_name: string;
  alias: string;
  version: string;
  model_id: string;
  accuracy: number;
  previous: { version: string; accuracy: number } | null;
}

interface ExampleRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs an example with nothing but what examples/README.md says to set (plus PATH and HOME),
 * so a variable the README forgets fails here. The retry settings only shorten a failure.
 */
async function runExample(file: string, args: string[], env: Record<string, string>): Promise<ExampleRun> {
  const script = path.join(EXAMPLES, file);
  const [command, commandArgs] = file.endsWith(".py") ? [PYTHON, [script, ...args]] : [script, args];
  const result = await execa(command, commandArgs, {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? tmpdir(), MLFLOW_HTTP_REQUEST_MAX_RETRIES: "2", ...env },
    extendEnv: false,
    reject: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** The example's one JSON line (the last line of its output), after checking that it succeeded. */
function printedJson<T>(run: ExampleRun, what: string): T {
  assert.equal(run.exitCode, 0, `${what} failed:\n${run.stderr.slice(-4_000)}`);
  return JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as T;
}

/** GETs an MLflow REST path from `base`, as a client with `token` (none in local mode). */
async function getJson<T>(base: string, apiPath: string, token?: string): Promise<T> {
  const response = await fetch(`${base}${apiPath}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${apiPath}: ${text}`);
  return JSON.parse(text) as T;
}

interface MetricPoint {
  step: string | number;
  value: number;
}

/** The accuracy history of a run, by step, read through the app's REST API. */
async function accuracyHistory(base: string, runId: string, token?: string): Promise<Array<[number, number]>> {
  const { metrics } = await getJson<{ metrics: MetricPoint[] }>(
    base,
    `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=accuracy`,
    token,
  );
  return metrics.map((m): [number, number] => [Number(m.step), m.value]).sort((a, b) => a[0] - b[0]);
}

/** Which version holds `alias`, read through the app's REST API. */
async function aliasHolder(base: string, model: string, alias: string, token?: string): Promise<{ version: string; run_id: string; source: string }> {
  const query = `name=${encodeURIComponent(model)}&alias=${alias}`;
  const { model_version: holder } = await getJson<{ model_version: { version: string; run_id: string; source: string } }>(
    base,
    `/api/2.0/mlflow/registered-models/alias?${query}`,
    token,
  );
  return { version: holder.version, run_id: holder.run_id, source: holder.source };
}

function assertTrained(trained: Trained): void {
  assert.match(trained.run_id, /^[0-9a-f]{32}$/);
  assert.match(trained.model_id, /^m-[0-9a-f]{32}$/);
  assert.ok(trained.accuracy > 0 && trained.accuracy <= 1, `accuracy ${trained.accuracy}`);
}

describe("the examples against a local gateway", () => {
  let gateway: GatewayProcess;
  let auditDir: string;
  let env: Record<string, string>;
  const experiment = `examples-${STAMP}`;
  const model = `wine-classifier-${STAMP}`;
  let first: Trained;
  let better: Trained;

  before(async () => {
    auditDir = mkdtempSync(path.join(tmpdir(), "examples-audit-"));
    gateway = await startGateway({ env: { GATEWAY_AUDIT_DIR: auditDir } });
    // README: locally the default URI is http://localhost:8000; this gateway listens on a free port.
    env = { MLFLOW_TRACKING_URI: gateway.url };
  });
  after(async () => {
    await gateway?.stop();
    rmSync(auditDir, { recursive: true, force: true });
  });

  it("train_and_log.py logs params, an accuracy history, a report and a logged model linked to its final accuracy", async () => {
    first = printedJson<Trained>(await runExample("train_and_log.py", [experiment, "--C", "0.003"], env), "train_and_log.py");
    assertTrained(first);

    const { run } = await getJson<{
      run: { info: { status: string; experiment_id: string }; data: { params: Array<{ key: string; value: string }> } };
    }>(gateway.url, `/api/2.0/mlflow/runs/get?run_id=${first.run_id}`);
    assert.equal(run.info.status, "FINISHED");
    assert.deepEqual(Object.fromEntries(run.data.params.map((p) => [p.key, p.value])), { C: "0.003", dataset: "sklearn wine", train_rows: "124" });
    const { experiment: logged } = await getJson<{ experiment: { name: string } }>(
      gateway.url,
      `/api/2.0/mlflow/experiments/get?experiment_id=${run.info.experiment_id}`,
    );
    assert.equal(logged.name, experiment);

    // A learning curve: four steps, the last one the printed (final) accuracy.
    const history = await accuracyHistory(gateway.url, first.run_id);
    assert.deepEqual(
      history.map(([step]) => step),
      [0, 1, 2, 3],
    );
    assert.equal(history[3]?.[1], first.accuracy);

    const report = await fetch(`${gateway.url}/get-artifact?path=classification_report.txt&run_uuid=${first.run_id}`);
    assert.equal(report.status, 200);
    assert.match(await report.text(), /precision\s+recall\s+f1-score/);

    const { model: loggedModel } = await getJson<{
      model: { info: { source_run_id: string; status: string; name: string }; data: { metrics?: Array<{ key: string; value: number }> } };
    }>(gateway.url, `/api/2.0/mlflow/logged-models/${first.model_id}`);
    assert.equal(loggedModel.info.source_run_id, first.run_id);
    assert.equal(loggedModel.info.status, "LOGGED_MODEL_READY");
    assert.equal(loggedModel.info.name, "model");
    assert.deepEqual(
      loggedModel.data.metrics?.map((m) => [m.key, m.value]),
      [["accuracy", first.accuracy]],
      "the final accuracy is linked to the logged model",
    );
  });

  it("promote_if_better.py registers the first candidate as champion, refuses a worse one, and moves the alias to a better one", async () => {
    // Two more candidates, trained side by side: C is the inverse of regularisation, so 0.001 underfits.
    const [worse, best] = await Promise.all(
      ["0.001", "1.0"].map(async (c) =>
        printedJson<Trained>(await runExample("train_and_log.py", [experiment, "--C", c], env), `train_and_log.py --C ${c}`),
      ),
    );
    assert.ok(worse && best);
    better = best;
    assert.ok(
      worse.accuracy < first.accuracy && first.accuracy < better.accuracy,
      `accuracies ${worse.accuracy} < ${first.accuracy} < ${better.accuracy}`,
    );

    // No holder yet: the candidate (named by its run) becomes version 1.
    const promoted = printedJson<Promoted>(await runExample("promote_if_better.py", [model, first.run_id], env), "first promotion");
    assert.deepEqual(promoted, {
      model_name: model,
      alias: "champion",
      version: "1",
      model_id: first.model_id,
      accuracy: first.accuracy,
      previous: null,
    });
    assert.deepEqual(await aliasHolder(gateway.url, model, "champion"), { version: "1", run_id: first.run_id, source: `models:/${first.model_id}` });

    // Worse than the champion (named by its models:/ URI): refused, both values named, nothing registered.
    const refused = await runExample(
      "promote_if_better.py",
      [model, `models:/${worse.model_id}`, "--metric", "accuracy", "--alias", "champion"],
      env,
    );
    assert.equal(refused.exitCode, GATE_REFUSED, refused.stderr);
    assert.ok(refused.stderr.includes(`accuracy=${String(worse.accuracy)}`), refused.stderr);
    assert.ok(refused.stderr.includes(`${model}@champion (version 1) with accuracy=${String(first.accuracy)}`), refused.stderr);
    assert.equal(refused.stdout.trim(), "");
    const versions = async (): Promise<string[]> =>
      (
        await getJson<{ model_versions?: Array<{ version: string }> }>(
          gateway.url,
          `/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent(`name='${model}'`)}`,
        )
      ).model_versions
        ?.map((v) => v.version)
        .sort() ?? [];
    assert.deepEqual(await versions(), ["1"], "the refused candidate was not registered");
    assert.equal((await aliasHolder(gateway.url, model, "champion")).version, "1");

    // Better (named by its bare model id): version 2, and the alias moves to it.
    const moved = printedJson<Promoted>(await runExample("promote_if_better.py", [model, better.model_id], env), "second promotion");
    assert.deepEqual(moved, {
      model_name: model,
      alias: "champion",
      version: "2",
      model_id: better.model_id,
      accuracy: better.accuracy,
      previous: { version: "1", accuracy: first.accuracy },
    });
    assert.deepEqual(await versions(), ["1", "2"]);
    assert.deepEqual(await aliasHolder(gateway.url, model, "champion"), {
      version: "2",
      run_id: better.run_id,
      source: `models:/${better.model_id}`,
    });
  });

  it("review_audit.sh verifies the trail with the local key, lists the examples' writes and refusals, and never prints the key", async () => {
    // As examples/README.md suggests: stop the gateway (Ctrl-C) so that a shutdown digest seals the trail.
    assert.equal((await gateway.stop()).exitCode, 0);
    const review = await runExample("review_audit.sh", [auditDir, LOCAL_USER], {});
    assert.equal(review.exitCode, 0, review.stdout + review.stderr);
    assert.match(review.stdout, /^OK: \d+ records \(\d+ events, \d+ digests?\) in 1 stream, read from 1 file\.$/m);
    assert.match(review.stdout, /^Digest signatures were checked with the key in GATEWAY_AUDIT_HMAC_KEY\.$/m);
    assert.match(review.stdout, /^ {2}gw-\S+: \d+ records, up to seq \d+; ends with its shutdown signed digest \(.*\): complete\.$/m);

    const rows = (action: string): string[] =>
      review.stdout.split("\n").filter((line) => line.includes(` ${LOCAL_USER} `) && line.includes(` ${action} `));
    assert.equal(rows("CreateRun").length, 3, "the three training runs");
    assert.equal(rows("CreateLoggedModel").length, 3);
    assert.deepEqual(
      rows("CreateModelVersion").map((line) => / logged_model_id=(m-[0-9a-f]+) /.exec(line)?.[1]),
      [first.model_id, better.model_id],
      "a version for each promoted candidate, none for the refused one",
    );
    const aliasMoves = rows("SetRegisteredModelAlias");
    assert.equal(aliasMoves.length, 2);
    assert.match(aliasMoves[0] ?? "", new RegExp(`alias=champion model_name=${model} version=1 +200 `));
    assert.match(aliasMoves[1] ?? "", new RegExp(`alias=champion model_name=${model} version=2 +200 `));
    assert.ok(!review.stdout.includes(" LogMetric "), "per-value logging is left out of the review");
    assert.match(review.stdout, /== Calls refused to local-developer\n.*\n0 records matched\.$/);

    const key = readFileSync(path.join(auditDir, "hmac.key"), "utf8").trim();
    assert.ok(key.length >= 32);
    assert.ok(!(review.stdout + review.stderr).includes(key), "the key is not printed");
  });

  it("review_audit.sh stops at a trail that fails verification, before listing anything", async () => {
    const copy = mkdtempSync(path.join(tmpdir(), "examples-tampered-"));
    try {
      cpSync(auditDir, copy, { recursive: true });
      const file = path.join(copy, readdirSync(copy).find((name) => name.endsWith(".jsonl")) ?? "");
      writeFileSync(file, readFileSync(file, "utf8").replace('"action":"SetRegisteredModelAlias"', '"action":"GetRegisteredModel"'));
      const review = await runExample("review_audit.sh", [copy, LOCAL_USER], {});
      assert.equal(review.exitCode, 1, review.stdout + review.stderr);
      assert.match(review.stdout, /^FAILED: 1 problem in /m);
      assert.match(review.stdout, /\[altered\]/);
      assert.ok(!review.stdout.includes("== Created, registered"), review.stdout);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe("the examples from a laptop: the app's URL and a user's token, through the front door to Unity Catalog", () => {
  const ALICE = "alice@example.com";
  const SCHEMA = "main.examples";
  const MODEL = `${SCHEMA}.wine_${STAMP}`;
  let app: AppStack;
  let workspace: WorkspaceEmulator;
  let frontDoor: FrontDoor;
  let auditDir: string;
  // What `databricks auth token --host https://<workspace>` prints as access_token.
  let token: string;

  before(async () => {
    app = await startAppStack({ user: ALICE, modelSchema: SCHEMA });
    ({ workspace, frontDoor, auditDir, token } = app);
  });
  after(async () => {
    await app?.stop();
  });

  it("trains, logs and promotes a Unity Catalog model as the user, and the gate refuses a candidate that is not better", async () => {
    // Exactly what examples/README.md has a laptop set.
    const env = { MLFLOW_TRACKING_URI: frontDoor.url, MLFLOW_TRACKING_TOKEN: token };
    const trained = printedJson<Trained>(await runExample("train_and_log.py", [`examples-${STAMP}`, "--C", "0.003"], env), "train_and_log.py");
    assertTrained(trained);
    assert.equal((await accuracyHistory(frontDoor.url, trained.run_id, token)).at(-1)?.[1], trained.accuracy);

    const since = workspace.calls.length;
    const promoted = printedJson<Promoted>(await runExample("promote_if_better.py", [MODEL, trained.run_id], env), "promotion");
    assert.equal(promoted.version, "1");
    assert.equal(promoted.previous, null);
    const holder = await aliasHolder(frontDoor.url, MODEL, "champion", token);
    assert.equal(holder.version, "1");
    assert.equal(holder.run_id, trained.run_id);

    // The same candidate again: equal is not better, so Unity Catalog gets no second version.
    const again = await runExample("promote_if_better.py", [MODEL, `models:/${trained.model_id}`], env);
    assert.equal(again.exitCode, GATE_REFUSED, again.stderr);
    assert.match(again.stderr, new RegExp(`not better than ${MODEL.replaceAll(".", "\\.")}@champion \\(version 1\\)`));
    const { model_versions: versions } = await getJson<{ model_versions?: Array<{ version: string }> }>(
      frontDoor.url,
      `/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent(`name='${MODEL}'`)}`,
      token,
    );
    assert.deepEqual(
      versions?.map((v) => v.version),
      ["1"],
    );

    // Unity Catalog saw the app's service principal register the model; the trail names Alice.
    const ucWrites = workspace.calls.slice(since).filter((c) => c.method !== "GET" && c.path.includes("unity-catalog"));
    const paths = new Set(ucWrites.map((c) => `${c.method} ${c.path}`));
    for (const call of ["registered-models/create", "model-versions/create", "registered-models/alias"]) {
      assert.ok(paths.has(`POST /api/2.0/mlflow/unity-catalog/${call}`), `${call} reached Unity Catalog: ${[...paths].join(", ")}`);
    }
    for (const call of ucWrites) assert.equal(call.principalName, workspace.servicePrincipal.applicationId, `${call.method} ${call.path}`);
    const events = await waitFor("the alias move in the audit files", () => {
      const all = readAuditEvents(auditDir);
      return all.some((e) => e.action === "SetRegisteredModelAlias") ? all : undefined;
    });
    const registry = events.filter((e) => ["CreateRegisteredModel", "CreateModelVersion", "SetRegisteredModelAlias"].includes(e.action));
    assert.deepEqual(registry.map((e) => `${e.action} ${String(e.objects.model_name)} ${e.principal.email ?? ""}`).sort(), [
      `CreateModelVersion ${MODEL} ${ALICE}`,
      `CreateRegisteredModel ${MODEL} ${ALICE}`,
      `SetRegisteredModelAlias ${MODEL} ${ALICE}`,
    ]);

    // The reviewer's side on Databricks: the digest key comes from the app's secret, not a file.
    const review = await runExample("review_audit.sh", [auditDir, "alice"], { GATEWAY_AUDIT_HMAC_KEY: TEST_AUDIT_KEY });
    assert.equal(review.exitCode, 0, review.stdout + review.stderr);
    assert.match(review.stdout, /^Digest signatures were checked with the key in GATEWAY_AUDIT_HMAC_KEY\.$/m);
    assert.match(
      review.stdout,
      new RegExp(`${ALICE} +SetRegisteredModelAlias +alias=champion model_name=${MODEL.replaceAll(".", "\\.")} version=1 +200 `),
    );
    assert.ok(!review.stdout.includes(TEST_AUDIT_KEY));
  });
});
