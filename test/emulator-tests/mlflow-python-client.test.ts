// The real MLflow Python client (MLFLOW_TRACKING_URI=databricks,
// MLFLOW_REGISTRY_URI=databricks-uc) against the emulator: tracking, run
// artifacts through both of MLflow's Databricks artifact repositories, and a
// Unity Catalog model registered, aliased and loaded back.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";
import { runMlflowPython } from "../emulator/python-client.js";
import { ucAdmin } from "../emulator/uc-admin.js";

let emu: WorkspaceEmulator;
let runId = "";
let experimentId = "";

before(async () => {
  emu = await startWorkspaceEmulator({
    users: [
      { userName: "carol@example.com", displayName: "Carol Data", groups: ["users"] },
      { userName: "admin@example.com", groups: ["admins"] },
    ],
  });
  // The metastore starts empty: an admin lets the service principal register models in main.default.
  await (await ucAdmin(emu, "admin@example.com")).allowModels("main.default", emu.servicePrincipal.applicationId);
});

after(async () => {
  await emu?.stop();
});

describe("tracking with OAuth M2M (service principal)", () => {
  it("creates an experiment and a run and reads params, metrics, tags and an artifact back", async () => {
    emu.clearCalls();
    const { result } = await runMlflowPython(
      emu,
      `
import mlflow
from mlflow import MlflowClient
exp_id = mlflow.set_experiment("/Shared/emulator-tracking").experiment_id
with mlflow.start_run(run_name="first") as run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("rmse", 1.25, step=3)
    mlflow.set_tag("team", "ml")
    mlflow.log_text("hello artifact", "notes/hello.txt")
c = MlflowClient()
r = c.get_run(run.info.run_id)
hist = c.get_metric_history(run.info.run_id, "rmse")
path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="notes/hello.txt")
emit({
  "experiment_id": exp_id, "run_id": r.info.run_id, "artifact_uri": r.info.artifact_uri,
  "user_id": r.info.user_id, "status": r.info.status, "params": r.data.params, "metrics": r.data.metrics,
  "team": r.data.tags.get("team"), "run_name": r.info.run_name, "steps": [m.step for m in hist],
  "top": [(f.path, f.is_dir) for f in c.list_artifacts(r.info.run_id)],
  "notes": [(f.path, f.file_size) for f in c.list_artifacts(r.info.run_id, "notes")],
  "downloaded": open(path).read(),
})
`,
    );
    const r = result as Record<string, unknown>;
    experimentId = String(r.experiment_id);
    runId = String(r.run_id);
    assert.equal(r.artifact_uri, `dbfs:/databricks/mlflow-tracking/${experimentId}/${runId}/artifacts`);
    assert.equal(r.user_id, emu.servicePrincipal.applicationId);
    assert.equal(r.status, "FINISHED");
    assert.deepEqual(r.params, { alpha: "0.5" });
    assert.deepEqual(r.metrics, { rmse: 1.25 });
    assert.deepEqual(r.steps, [3]);
    assert.equal(r.team, "ml");
    assert.equal(r.run_name, "first");
    assert.deepEqual(r.top, [["notes", true]]);
    assert.deepEqual(r.notes, [["notes/hello.txt", 14]]);
    assert.equal(r.downloaded, "hello artifact");
    assert.equal((await emu.getRunArtifact(runId, "notes/hello.txt"))?.toString(), "hello artifact");

    // The SDK exchanged the client secret, and every API call carried the SP's OAuth token.
    const tokenCalls = emu.calls.filter((c) => c.surface === "oauth");
    assert.ok(tokenCalls.length >= 1);
    assert.ok(tokenCalls.every((c) => c.status === 200 && c.credential === "client_secret"));
    const apiCalls = emu.calls.filter((c) => c.surface === "api");
    assert.ok(apiCalls.length > 5);
    for (const call of apiCalls) {
      assert.equal(call.principalKind, "service_principal", `${call.method} ${call.path}`);
      assert.equal(call.principalName, emu.servicePrincipal.applicationId);
      assert.equal(call.credential, "oauth");
    }
    // Run artifacts went through the Files API at the path MLflow's SDK repository uses.
    const filePath = `/api/2.0/fs/files/WorkspaceInternal/Mlflow/Artifacts/${experimentId}/Runs/${runId}/artifacts/notes/hello.txt`;
    assert.ok(apiCalls.some((c) => c.method === "PUT" && c.path === filePath && c.status === 204));
    assert.ok(apiCalls.some((c) => c.method === "POST" && c.path === "/api/2.0/mlflow/runs/create" && c.status === 200));
  });

  it("serves notebook-written artifacts and the credential-based artifact repository", async () => {
    await emu.putRunArtifact(runId, "notebook/output.csv", "a,b\n1,2\n");
    emu.clearCalls();
    const { result } = await runMlflowPython(
      emu,
      `
import mlflow, os, tempfile
from mlflow import MlflowClient
run_id = ${JSON.stringify(runId)}
d = tempfile.mkdtemp()
with open(os.path.join(d, "model.txt"), "w") as f:
    f.write("weights")
MlflowClient().log_artifact(run_id, os.path.join(d, "model.txt"), "via-credentials")
got = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notebook/output.csv")
listed = sorted(f.path for f in MlflowClient().list_artifacts(run_id))
emit({"csv": open(got).read(), "listed": listed})
`,
      { env: { MLFLOW_DISABLE_DATABRICKS_SDK_FOR_RUN_ARTIFACTS: "true" } },
    );
    const r = result as { csv: string; listed: string[] };
    assert.equal(r.csv, "a,b\n1,2\n");
    assert.deepEqual(r.listed, ["notebook", "notes", "via-credentials"]);
    assert.equal((await emu.getRunArtifact(runId, "via-credentials/model.txt"))?.toString(), "weights");
    const paths = emu.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
    assert.ok(paths.includes("POST /api/2.0/mlflow/artifacts/credentials-for-write 200"), paths.join("\n"));
    assert.ok(paths.includes("POST /api/2.0/mlflow/artifacts/credentials-for-read 200"));
    assert.ok(paths.includes("GET /api/2.0/mlflow/artifacts/list 200"));
    assert.ok(emu.calls.some((c) => c.surface === "blob" && c.method === "PUT" && c.status === 200));
    assert.ok(emu.calls.some((c) => c.surface === "blob" && c.method === "GET" && c.status === 200));
  });
});

describe("Unity Catalog model registry", () => {
  it("registers a logged model as main.default.<name>, sets an alias and loads it back", async () => {
    emu.clearCalls();
    const { result } = await runMlflowPython(
      emu,
      `
import os, mlflow, pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature
class AddOne(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["x"] + 1
mlflow.set_experiment("/Shared/emulator-uc")
df = pd.DataFrame({"x": [1.0, 2.0]})
with mlflow.start_run():
    info = mlflow.pyfunc.log_model(name="model", python_model=AddOne(),
        signature=infer_signature(df, pd.Series([2.0, 3.0])), pip_requirements=["mlflow"])
name = "main.default.emulator_model"
mv = mlflow.register_model(info.model_uri, name, tags={"stage": "candidate"})
c = MlflowClient()
c.set_registered_model_alias(name, "champion", mv.version)
by_alias = c.get_model_version_by_alias(name, "champion")
rm = c.get_registered_model(name)
pred = list(mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(df))
os.environ["MLFLOW_USE_DATABRICKS_SDK_MODEL_ARTIFACTS_REPO_FOR_UC"] = "true"
pred_sdk = list(mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}").predict(df))
emit({
  "artifact_path": info.artifact_path, "model_id": info.model_id,
  "mv": [mv.name, mv.version, mv.status, mv.source, mv.model_id],
  "alias": [by_alias.version, by_alias.aliases, by_alias.tags, by_alias.user_id],
  "rm": [rm.name, rm.aliases], "pred": pred, "pred_sdk": pred_sdk,
  "versions": [v.version for v in c.search_model_versions(f"name='{name}'")],
})
`,
    );
    const r = result as Record<string, unknown>;
    assert.match(String(r.artifact_path), /^dbfs:\/databricks\/mlflow-tracking\/\d+\/logged_models\/m-[0-9a-f]+\/artifacts$/);
    assert.deepEqual(r.mv, ["main.default.emulator_model", "1", "READY", `models:/${String(r.model_id)}`, r.model_id]);
    assert.deepEqual(r.alias, ["1", ["champion"], { stage: "candidate" }, emu.servicePrincipal.applicationId]);
    assert.deepEqual(r.rm, ["main.default.emulator_model", { champion: "1" }]);
    assert.deepEqual(r.pred, [2, 3]);
    assert.deepEqual(r.pred_sdk, [2, 3]);
    assert.deepEqual(r.versions, ["1"]);

    const paths = emu.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
    for (const expected of [
      "POST /api/2.0/mlflow/unity-catalog/model-versions/create 200",
      "POST /api/2.0/mlflow/unity-catalog/model-versions/generate-temporary-credentials 200",
      "POST /api/2.0/fs/create-upload-url 200",
      "POST /api/2.0/mlflow/unity-catalog/model-versions/finalize 200",
      "PUT /blob/Models/main/default/emulator_model/1/MLmodel 200",
      "GET /api/2.0/fs/directories/Models/main/default/emulator_model/1/ 200",
      "POST /api/2.0/fs/create-download-url 200",
      // The second load went through the SDK's Files API client.
      "POST /api/2.0/mlflow/unity-catalog/model-versions/emit-lineage 200",
      "HEAD /api/2.0/fs/directories/Models/main/default/emulator_model/1 200",
    ]) {
      assert.ok(paths.includes(expected), `missing ${expected} in\n${paths.join("\n")}`);
    }
  });
});

describe("traces", () => {
  it("logs a trace with @mlflow.trace, stores its data through a signed URL and reads its spans back; others are refused", async () => {
    emu.clearCalls();
    const { result } = await runMlflowPython(
      emu,
      `
import mlflow
from mlflow import MlflowClient
exp_id = mlflow.set_experiment("/Users/${emu.servicePrincipal.applicationId}/emulator-traces").experiment_id
@mlflow.trace(name="answer")
def answer(q):
    with mlflow.start_span(name="retrieve") as span:
        span.set_inputs({"q": q})
    return "42"
answer("why?")
mlflow.flush_trace_async_logging()
found = mlflow.search_traces(locations=[exp_id], return_type="list")
trace = mlflow.get_trace(found[0].info.trace_id)
emit({
  "experiment_id": exp_id, "trace_id": trace.info.trace_id,
  "location": trace.info.tags.get("mlflow.artifactLocation"),
  "spans": sorted(s.name for s in trace.data.spans),
  "searched_spans": sorted(s.name for s in found[0].data.spans),
})
`,
    );
    const r = result as { experiment_id: string; trace_id: string; location: string; spans: string[]; searched_spans: string[] };
    assert.equal(r.location, `dbfs:/databricks/mlflow-tracking/${r.experiment_id}/${r.trace_id}/artifacts`);
    assert.deepEqual(r.spans, ["answer", "retrieve"]);
    assert.deepEqual(r.searched_spans, ["answer", "retrieve"]);
    // The data went up through the signed URL the upload credential named, by the service principal.
    const upload = emu.calls.find((c) => c.path === `/api/2.0/mlflow/traces/${r.trace_id}/credentials-for-data-upload`);
    assert.equal(upload?.status, 200);
    assert.equal(upload?.principalKind, "service_principal");
    assert.ok(
      emu.calls.some((c) => c.method === "PUT" && c.path.startsWith("/blob/") && c.path.includes(`/Traces/${r.trace_id}/`) && c.status === 200),
      "traces.json was written at the signed URL",
    );
    // Without a grant on the experiment (in the service principal's home folder), a user may not read the trace's data.
    const token = await emu.mintUserToken({ userName: "carol@example.com" });
    const refused = await fetch(`${emu.url}/api/2.0/mlflow/traces/${r.trace_id}/credentials-for-data-download`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error_code: string }).error_code, "PERMISSION_DENIED");
  });
});

describe("other credentials", () => {
  it("works with a PAT and a user OAuth token, and records them as such", async () => {
    const pat = emu.addPersonalAccessToken("carol@example.com");
    const script = `
from mlflow import MlflowClient
emit({"names": [e.name for e in MlflowClient().search_experiments()]})
`;
    emu.clearCalls();
    const viaPat = await runMlflowPython(emu, script, { auth: { kind: "token", token: pat } });
    assert.ok((viaPat.result as { names: string[] }).names.includes("/Shared/emulator-tracking"));
    const userToken = await emu.mintUserToken({ userName: "carol@example.com" });
    await runMlflowPython(emu, script, { auth: { kind: "token", token: userToken } });
    const searches = emu.calls.filter((c) => c.path === "/api/2.0/mlflow/experiments/search");
    assert.deepEqual(
      [...new Set(searches.map((c) => `${c.principalName}/${c.principalKind}/${c.credential}/${c.status}`))],
      ["carol@example.com/user/pat/200", "carol@example.com/user/oauth/200"],
    );
  });

  it("fails the client with the token endpoint's error on a wrong secret", async () => {
    await assert.rejects(
      runMlflowPython(emu, `from mlflow import MlflowClient\nMlflowClient().search_experiments()\nemit({})`, {
        auth: { kind: "client-secret", clientId: emu.servicePrincipal.applicationId, clientSecret: "dose-wrong" },
      }),
      /invalid_client: Client authentication failed/,
    );
  });
});
