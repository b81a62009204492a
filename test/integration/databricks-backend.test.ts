import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { modelStorageByCatalog } from "../emulator/model-storage.js";
import { runMlflowPython } from "../emulator/python-client.js";
import { type AzureModelStorage, azureModelStorage } from "../emulator/storage/azure-storage.js";
import { type S3ModelStorage, s3ModelStorage } from "../emulator/storage/s3-storage.js";
import { ucAdmin } from "../emulator/uc-admin.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import { databricksEnv, grantAppAccess, MLMODEL_WITH_SIGNATURE, WORKSPACE_ADMIN, workspaceUsers } from "../support/databricks.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { runPythonJson } from "../support/python.js";

const ALICE = "alice@example.com";
const STAMP = Date.now();
const MODEL = `main.gateway_it.churn_${STAMP}`;
/** One model per Unity Catalog storage mode: each catalog keeps its models in its own place. */
const STORED_MODELS = {
  default: `main.models.stored_${STAMP}`,
  s3: `customer_s3.models.stored_${STAMP}`,
  azure: `customer_azure.models.stored_${STAMP}`,
} as const;
const PYTHON_TIMEOUT_MS = 180_000;

interface Trained {
  run_id: string;
  /** models:/m-..., the MLflow 3 logged model. */
  model_uri: string;
  artifact_location: string;
  mlmodel: string;
}

interface Tracked {
  experiment_id: string;
  experiment_name: string;
  run_id: string;
  artifact_uri: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tag: string;
  user: string;
  user_id: string;
}

// One workspace emulator, one gateway in Databricks mode, and the Apps front door in
// front of it: client -> front door -> gateway -> mlflow server child -> workspace. The
// workspace is as strict as a real one: an admin grants the app what it needs first. Its
// catalogs keep models in each of Unity Catalog's storage modes (Databricks default
// storage, customer-hosted S3 on moto with IAM, customer-hosted Azure on Azurite with a
// user delegation SAS), so one stack covers them all.
let workspace: WorkspaceEmulator;
let gateway: GatewayProcess;
let frontDoor: FrontDoor;
let s3: S3ModelStorage | undefined;
let azure: AzureModelStorage | undefined;
let aliceToken: string;
let cookie: string;

before(async () => {
  workspace = await startWorkspaceEmulator({
    users: workspaceUsers(ALICE),
    modelStorage: modelStorageByCatalog({
      customer_s3: async (env) => (s3 = (await s3ModelStorage()(env)) as S3ModelStorage),
      customer_azure: async (env) => (azure = (await azureModelStorage()(env)) as AzureModelStorage),
    }),
  });
  await grantAppAccess(workspace, { modelSchema: "main.gateway_it" });
  const admin = await ucAdmin(workspace, WORKSPACE_ADMIN);
  for (const name of Object.values(STORED_MODELS)) {
    const schema = name.split(".").slice(0, 2).join(".");
    await grantAppAccess(workspace, { modelSchema: schema });
    // Alice loads the models in her notebook: she may read (EXECUTE) what the app registers.
    await admin.grant("CATALOG", schema.split(".")[0] ?? "", ALICE, ["USE_CATALOG"]);
    await admin.grant("SCHEMA", schema, ALICE, ["USE_SCHEMA", "EXECUTE"]);
  }
  // The gateway's child must reach the customer's storage exactly as MLflow on Databricks Apps would.
  gateway = await startGateway({ tempDataDir: false, env: { ...databricksEnv(workspace), ...workspace.modelStorage.clientEnv } });
  frontDoor = await startFrontDoor({ upstream: gateway.url, workspace });
  aliceToken = await workspace.mintUserToken({ userName: ALICE });
  cookie = frontDoor.login(ALICE);
});
after(async () => {
  await frontDoor?.close();
  await gateway?.stop();
  await workspace?.stop();
});

describe("Databricks as the backend, end to end", () => {
  let tracked: Tracked;

  it("reports the workspace reachable with the service principal's credentials", async () => {
    const ready = (await (await fetch(`${gateway.url}/-/ready`)).json()) as { checks: Record<string, { ok: boolean; detail: string }> };
    assert.equal(ready.checks["databricks"]?.ok, true);
    assert.match(ready.checks["databricks"]?.detail ?? "", /service principal's credentials/);
  });

  it("stores what the real MLflow client logs in the workspace, every backend call made as the service principal", async () => {
    workspace.clearCalls();
    const name = `gateway-it-${Date.now()}`;
    tracked = await runPythonJson<Tracked>("databricks_roundtrip.py", [frontDoor.url, "track", name], {
      MLFLOW_TRACKING_TOKEN: aliceToken,
      USER: "mallory",
    });
    // A plain name is a workspace path on Databricks: the gateway filed it under its root.
    assert.equal(tracked.experiment_name, `/Shared/mlflow/${name}`);
    assert.match(tracked.experiment_id, /^\d{15,16}$/, "a workspace node id");
    assert.deepEqual(tracked.params, { alpha: "0.5", l1_ratio: "0.1" });
    assert.equal(tracked.metrics["rmse"], 0.8);
    assert.equal(tracked.tag, "integration");
    assert.equal(tracked.user, ALICE, "the run records the person, not the client's claim");
    // Databricks itself sets a run's user_id to the authenticated caller, the service principal.
    assert.equal(tracked.user_id, workspace.servicePrincipal.applicationId);
    // Clients are shown the run's location through the app; Databricks keeps its own (dbfs:/...).
    assert.equal(tracked.artifact_uri, `mlflow-artifacts:/databricks/mlflow-tracking/${tracked.experiment_id}/${tracked.run_id}/artifacts`);

    // The data is in the workspace's own store.
    const backing = (await (await fetch(`${workspace.backingMlflowUrl}/api/2.0/mlflow/runs/get?run_id=${tracked.run_id}`)).json()) as {
      run: { data: { params: Array<{ key: string; value: string }> } };
    };
    assert.deepEqual(backing.run.data.params.map((p) => `${p.key}=${p.value}`).sort(), ["alpha=0.5", "l1_ratio=0.1"]);

    const apiCalls = workspace.calls.filter((c) => c.surface === "api");
    assert.ok(apiCalls.length >= 5, `the child called the workspace (${apiCalls.length} calls)`);
    for (const call of apiCalls) {
      assert.equal(call.principalKind, "service_principal", `${call.method} ${call.path}`);
      assert.equal(call.principalName, workspace.servicePrincipal.applicationId);
    }
    assert.ok(!workspace.calls.some((c) => c.principalName === ALICE), "no backend call carried the user's credentials");
  });

  it("registers a Unity Catalog model with two versions and an alias, readable through REST and the UI's ajax API", async () => {
    await workspace.putRunArtifact(tracked.run_id, "model/MLmodel", MLMODEL_WITH_SIGNATURE);
    await workspace.putRunArtifact(tracked.run_id, "model/requirements.txt", "mlflow\n");
    const registered = await runPythonJson<{ versions: string[]; statuses: string[]; alias_version: string }>(
      "databricks_roundtrip.py",
      [frontDoor.url, "register", MODEL, tracked.run_id, `${tracked.artifact_uri}/model`],
      { MLFLOW_TRACKING_TOKEN: aliceToken },
    );
    assert.deepEqual(registered.versions, ["1", "2"]);
    assert.deepEqual(registered.statuses, ["READY", "READY"]);
    assert.equal(registered.alias_version, "2");

    const auth = { authorization: `Bearer ${aliceToken}` };
    const rest = (await (await fetch(`${frontDoor.url}/api/2.0/mlflow/registered-models/get?name=${MODEL}`, { headers: auth })).json()) as {
      registered_model: { name: string; aliases: Array<{ alias: string; version: string }> };
    };
    assert.equal(rest.registered_model.name, MODEL);
    assert.deepEqual(rest.registered_model.aliases, [{ alias: "champion", version: "2" }]);

    const ajax = await fetch(`${frontDoor.url}/ajax-api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent(`name='${MODEL}'`)}`, {
      headers: { cookie },
    });
    assert.equal(ajax.status, 200);
    const versions = (await ajax.json()) as { model_versions: Array<{ version: string; run_id: string }> };
    assert.deepEqual(versions.model_versions.map((v) => v.version).sort(), ["1", "2"]);
    assert.ok(versions.model_versions.every((v) => v.run_id === tracked.run_id));
  });

  it("lists and downloads run artifacts written in the workspace, with identical bytes", async () => {
    const bytes = Buffer.from(`written by a notebook at ${new Date().toISOString()}\n`);
    await workspace.putRunArtifact(tracked.run_id, "notes/hello.txt", bytes);
    const list = await fetch(`${frontDoor.url}/ajax-api/2.0/mlflow/artifacts/list?run_uuid=${tracked.run_id}&path=notes`, { headers: { cookie } });
    assert.equal(list.status, 200);
    const listed = (await list.json()) as { files: Array<{ path: string; is_dir: boolean; file_size: number }> };
    assert.deepEqual(listed.files, [{ path: "notes/hello.txt", is_dir: false, file_size: bytes.length }]);

    const download = await fetch(`${frontDoor.url}/get-artifact?run_uuid=${tracked.run_id}&path=notes/hello.txt`, { headers: { cookie } });
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
  });

  it("serves a Unity Catalog model version's files to the UI, which stock MLflow cannot", async () => {
    const response = await fetch(`${frontDoor.url}/model-versions/get-artifact?name=${MODEL}&version=1&path=MLmodel`, { headers: { cookie } });
    assert.equal(response.status, 200, await response.clone().text());
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(response.headers.get("content-disposition") ?? "", /^attachment; filename="?MLmodel"?/);
    assert.equal(await response.text(), MLMODEL_WITH_SIGNATURE);
    // Read the way MLflow's own clients read UC files: temporary credentials, then presigned URLs.
    const paths = workspace.calls.map((c) => c.path);
    assert.ok(paths.includes("/api/2.0/mlflow/unity-catalog/model-versions/generate-temporary-credentials"));
    assert.ok(
      !paths.some((p) => p.startsWith("/api/2.0/fs/files/Models/")),
      "never the /Models Files API path, which this workspace has not enabled",
    );
    const missing = await fetch(`${frontDoor.url}/model-versions/get-artifact?name=${MODEL}&version=1&path=nope.txt`, { headers: { cookie } });
    assert.ok(missing.status === 404, `status ${missing.status}: ${await missing.clone().text()}`);
    const body = (await missing.json()) as { error_code: string };
    assert.ok(typeof body.error_code === "string", "an MLflow-shaped error");
  });

  it("serves the same view when the workspace enables the SDK models-artifact path (the Files API under /Models)", async () => {
    workspace.setUcModelArtifacts("sdk");
    try {
      workspace.clearCalls();
      const response = await fetch(`${frontDoor.url}/model-versions/get-artifact?name=${MODEL}&version=1&path=MLmodel`, { headers: { cookie } });
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(await response.text(), MLMODEL_WITH_SIGNATURE);
      // MLflow's SDK repository (databricks-sdk's files client: listing, then a download URL or a
      // plain GET) instead of temporary credentials for the version.
      const paths = workspace.calls.map((c) => c.path);
      assert.ok(paths.includes("/api/2.0/mlflow/unity-catalog/registered-models:is-databricks-sdk-models-artifact-repository-enabled"));
      assert.ok(
        paths.some((p) => p.startsWith("/api/2.0/fs/directories/Models/")),
        `through the Files API: ${paths.join(", ")}`,
      );
      assert.ok(!paths.some((p) => p.endsWith("/generate-temporary-credentials")), "no temporary credentials");
    } finally {
      workspace.setUcModelArtifacts("presigned");
    }
  });

  it("files an experiment created with a plain name from the UI under the app's folder, which it creates", async () => {
    const name = `churn-model-${Date.now()}`;
    const created = await fetch(`${frontDoor.url}/ajax-api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    assert.equal(created.status, 200, await created.clone().text());
    assert.equal(created.headers.get("x-mlflow-experiment-path"), `/Shared/mlflow/${name}`);
    const { experiment_id: id } = (await created.json()) as { experiment_id: string };
    const byName = await fetch(`${frontDoor.url}/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=${name}`, { headers: { cookie } });
    assert.equal(byName.status, 200, "looking it up by the same plain name finds it");
    const { experiment } = (await byName.json()) as { experiment: { experiment_id: string; name: string } };
    assert.deepEqual([experiment.experiment_id, experiment.name], [id, `/Shared/mlflow/${name}`]);
    const mkdirs = workspace.calls.filter((c) => c.path === "/api/2.0/workspace/mkdirs");
    assert.ok(mkdirs.length > 0 && mkdirs.every((c) => c.principalName === workspace.servicePrincipal.applicationId && c.status === 200));
  });

  it("relays Databricks' refusal of a path the app may not write, naming the folder and the permission", async () => {
    const refused = await fetch(`${frontDoor.url}/ajax-api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ name: `/Users/${ALICE}/private-${Date.now()}` }),
    });
    assert.equal(refused.status, 403);
    const body = (await refused.json()) as { error_code: string; message: string };
    assert.equal(body.error_code, "PERMISSION_DENIED");
    assert.match(body.message, new RegExp(`Manage permissions on /Users/${ALICE}`));
  });

  it("says which folder it could not create, and what the service principal lacks", async () => {
    workspace.addDenyRule({ principal: workspace.servicePrincipal.applicationId, pathPrefix: "/api/2.0/workspace/mkdirs" });
    try {
      const refused = await fetch(`${frontDoor.url}/ajax-api/2.0/mlflow/experiments/create`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify({ name: "team-b/forecast" }),
      });
      assert.equal(refused.status, 403);
      const body = (await refused.json()) as { error_code: string; message: string; gateway_error: string };
      assert.equal(body.gateway_error, "BACKEND_FORBIDDEN");
      assert.match(body.message, /may not create the experiment folder \/Shared\/mlflow\/team-b: Databricks requires CAN_MANAGE on \/Shared\/mlflow/);
    } finally {
      workspace.clearDenyRules();
    }
  });

  it("lists a page of models with a bounded number of workspace calls, and still answers while reads are throttled", async () => {
    // Thirty models, created straight in the workspace as the app would have.
    const spToken = await workspace.mintServicePrincipalToken();
    const prefix = `main.gateway_it.fanout_${Date.now()}`;
    for (let i = 0; i < 30; i += 1) {
      const created = await fetch(`${workspace.url}/api/2.0/mlflow/unity-catalog/registered-models/create`, {
        method: "POST",
        headers: { authorization: `Bearer ${spToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name: `${prefix}_${String(i).padStart(2, "0")}` }),
      });
      assert.equal(created.status, 200, await created.text());
    }
    const listPage = async (): Promise<string[]> => {
      const response = await fetch(`${frontDoor.url}/ajax-api/2.0/mlflow/registered-models/search?max_results=100`, { headers: { cookie } });
      assert.equal(response.status, 200, await response.clone().text());
      return ((await response.json()) as { registered_models: Array<{ name: string }> }).registered_models.map((m) => m.name);
    };
    const reads = (): number => workspace.calls.filter((c) => c.path === "/api/2.0/mlflow/unity-catalog/registered-models/get").length;

    workspace.clearCalls();
    const names = await listPage();
    assert.ok(names.filter((n) => n.startsWith(prefix)).length === 30, "every model is listed");
    assert.ok(reads() <= 25, `${reads()} per-model reads for one page (bound: 25)`);

    // Per-model reads throttled for good: the page is still answered, with the first failed read ending the enrichment.
    workspace.faults.set({ rateLimit: { pathPrefix: "/api/2.0/mlflow/unity-catalog/registered-models/get" } });
    try {
      workspace.clearCalls();
      assert.equal((await listPage()).filter((n) => n.startsWith(prefix)).length, 30);
      const throttled = workspace.calls.filter((c) => c.path === "/api/2.0/mlflow/unity-catalog/registered-models/get");
      assert.ok(throttled.length >= 1 && throttled.length <= 5, `${throttled.length} reads while throttled (one read and its retries)`);
    } finally {
      workspace.faults.clear();
    }
  });
});

describe("Unity Catalog model storage modes through the gateway", () => {
  let trained: Trained;

  it("trains a model in a notebook (straight against the workspace)", async () => {
    const { result } = await runMlflowPython(
      workspace,
      `
import mlflow, os, pandas as pd
from mlflow.models import infer_signature

class Double(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["x"] * 2

mlflow.set_experiment("/Shared/storage-modes-${STAMP}")
example = pd.DataFrame({"x": [1.0, 2.0]})
with mlflow.start_run() as run:
    info = mlflow.pyfunc.log_model(name="model", python_model=Double(), input_example=example, signature=infer_signature(example, example["x"] * 2))
location = mlflow.get_logged_model(info.model_id).artifact_location
emit({"run_id": run.info.run_id, "model_uri": info.model_uri, "artifact_location": location,
      "mlmodel": open(mlflow.artifacts.download_artifacts(artifact_uri=f"{location}/MLmodel")).read()})
`,
      { auth: { kind: "token", token: aliceToken }, env: workspace.modelStorage.clientEnv, timeoutMs: PYTHON_TIMEOUT_MS },
    );
    trained = result as Trained;
    assert.match(trained.artifact_location, /^dbfs:\/databricks\/mlflow-tracking\/\d+\/logged_models\/m-[0-9a-f]+\/artifacts$/);
  });

  it("registers a version in each storage mode through the gateway, and sets its alias there", async () => {
    const { result } = await runMlflowPython(
      workspace,
      `
import json, mlflow, pandas as pd
from mlflow import MlflowClient
client = MlflowClient()
out = {}
for name in json.loads(${JSON.stringify(JSON.stringify(Object.values(STORED_MODELS)))}):
    version = mlflow.register_model("${trained.model_uri}", name)
    client.set_registered_model_alias(name, "champion", version.version)
    out[name] = {"version": version.version, "status": client.get_model_version(name, version.version).status,
                 "uri": client.get_model_version_download_uri(name, version.version),
                 # Loaded back through the app: the child reads the version's files from this storage.
                 "prediction": mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(pd.DataFrame({"x": [3.0]})).tolist()}
emit(out)
`,
      {
        auth: { kind: "token", token: aliceToken },
        // Through the front door and the gateway, with only a token for the app.
        env: { MLFLOW_TRACKING_URI: frontDoor.url, MLFLOW_REGISTRY_URI: frontDoor.url, MLFLOW_TRACKING_TOKEN: aliceToken },
        timeoutMs: PYTHON_TIMEOUT_MS,
      },
    );
    const registered = result as Record<string, { version: string; status: string; uri: string; prediction: number[] }>;
    for (const name of Object.values(STORED_MODELS)) assert.deepEqual(registered[name]?.prediction, [6], `${name} loaded through the app`);
    for (const name of Object.values(STORED_MODELS)) assert.deepEqual([registered[name]?.version, registered[name]?.status], ["1", "READY"], name);
    // A client of the app is given a download location served through the app, whatever the storage.
    for (const name of Object.values(STORED_MODELS)) assert.equal(registered[name]?.uri, `mlflow-artifacts:/unity-catalog/models/${name}/1`);
    // The files are in the customer's own storage, put there by the gateway's child with the workspace's credentials.
    const s3Keys = await (s3 as S3ModelStorage).listKeys((s3 as S3ModelStorage).versionPrefix(STORED_MODELS.s3, "1"));
    assert.ok(
      s3Keys.some((key) => key.endsWith("/MLmodel")),
      `MLmodel in S3: ${s3Keys.join(", ")}`,
    );
    const blobs = await (azure as AzureModelStorage).listBlobs((azure as AzureModelStorage).versionPath(STORED_MODELS.azure, "1"));
    assert.ok(
      blobs.some((blob) => blob.endsWith("/MLmodel")),
      `MLmodel in Azure: ${blobs.join(", ")}`,
    );
    const credentials = workspace.calls.filter((c) => c.path.endsWith("/model-versions/generate-temporary-credentials"));
    assert.ok(credentials.length >= 3 && credentials.every((c) => c.principalName === workspace.servicePrincipal.applicationId));
  });

  it("loads each model by its alias, as a notebook would", async () => {
    const { result } = await runMlflowPython(
      workspace,
      `
import json, mlflow, pandas as pd
out = {}
for name in json.loads(${JSON.stringify(JSON.stringify(Object.values(STORED_MODELS)))}):
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    out[name] = [float(v) for v in model.predict(pd.DataFrame({"x": [1.5, 4.0]}))]
emit(out)
`,
      { auth: { kind: "token", token: aliceToken }, env: workspace.modelStorage.clientEnv, timeoutMs: PYTHON_TIMEOUT_MS },
    );
    for (const name of Object.values(STORED_MODELS)) assert.deepEqual((result as Record<string, number[]>)[name], [3, 8], name);
  });

  it("serves each version's files to the UI through the gateway", async () => {
    for (const name of Object.values(STORED_MODELS)) {
      const response = await fetch(`${frontDoor.url}/model-versions/get-artifact?name=${name}&version=1&path=MLmodel`, { headers: { cookie } });
      assert.equal(response.status, 200, `${name}: ${await response.clone().text()}`);
      assert.equal(await response.text(), trained.mlmodel, name);
    }
  });
});
