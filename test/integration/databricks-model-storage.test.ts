/**
 * Unity Catalog model storage in each of its modes, through the product: Databricks default
 * storage (presigned URLs), customer-hosted S3 (moto with IAM authentication, real STS
 * credentials) and customer-hosted Azure (Azurite validating a user delegation SAS). One
 * workspace whose catalogs keep their models in different places, as Unity Catalog
 * allows, so one gateway covers every mode. For each: a model registered through the
 * gateway (its child uploads the files with the credentials the workspace hands out), an
 * alias set through the gateway, the model loaded by that alias as a notebook would, and
 * the UI's model-version file view served through the gateway.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { modelStorageByCatalog } from "../emulator/model-storage.js";
import { runMlflowPython } from "../emulator/python-client.js";
import { type AzureModelStorage, azureModelStorage } from "../emulator/storage/azure-storage.js";
import { type S3ModelStorage, s3ModelStorage } from "../emulator/storage/s3-storage.js";
import { ucAdmin } from "../emulator/uc-admin.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import { databricksEnv, grantAppAccess, WORKSPACE_ADMIN, workspaceUsers } from "../support/databricks.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";

const ALICE = "alice@example.com";
const STAMP = Date.now();
const MODELS = {
  default: `main.models.churn_${STAMP}`,
  s3: `customer_s3.models.churn_${STAMP}`,
  azure: `customer_azure.models.churn_${STAMP}`,
} as const;
const PYTHON_TIMEOUT_MS = 180_000;

interface Trained {
  run_id: string;
  /** models:/m-..., the MLflow 3 logged model. */
  model_uri: string;
  artifact_location: string;
  mlmodel: string;
}

describe("Unity Catalog model storage modes through the gateway", () => {
  let workspace: WorkspaceEmulator;
  let gateway: GatewayProcess;
  let frontDoor: FrontDoor;
  let s3: S3ModelStorage | undefined;
  let azure: AzureModelStorage | undefined;
  let aliceToken: string;
  let trained: Trained;

  before(async () => {
    workspace = await startWorkspaceEmulator({
      users: workspaceUsers(ALICE),
      modelStorage: modelStorageByCatalog({
        customer_s3: async (env) => (s3 = (await s3ModelStorage()(env)) as S3ModelStorage),
        customer_azure: async (env) => (azure = (await azureModelStorage()(env)) as AzureModelStorage),
      }),
    });
    const admin = await ucAdmin(workspace, WORKSPACE_ADMIN);
    for (const name of Object.values(MODELS)) {
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
  });
  after(async () => {
    if (process.env["TEST_VERBOSE"])
      for (const line of gateway?.logs ?? []) if (line.level === "error" || line.level === "warn") console.log(JSON.stringify(line).slice(0, 3000));
    await frontDoor?.close();
    await gateway?.stop();
    await workspace?.stop();
  });

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
import json, mlflow
from mlflow import MlflowClient
client = MlflowClient()
out = {}
for name in json.loads(${JSON.stringify(JSON.stringify(Object.values(MODELS)))}):
    version = mlflow.register_model("${trained.model_uri}", name)
    client.set_registered_model_alias(name, "champion", version.version)
    out[name] = {"version": version.version, "status": client.get_model_version(name, version.version).status,
                 "uri": client.get_model_version_download_uri(name, version.version)}
emit(out)
`,
      {
        auth: { kind: "token", token: aliceToken },
        // Through the front door and the gateway, with only a token for the app.
        env: { MLFLOW_TRACKING_URI: frontDoor.url, MLFLOW_REGISTRY_URI: frontDoor.url, MLFLOW_TRACKING_TOKEN: aliceToken },
        timeoutMs: PYTHON_TIMEOUT_MS,
      },
    );
    const registered = result as Record<string, { version: string; status: string; uri: string }>;
    for (const name of Object.values(MODELS)) assert.deepEqual([registered[name]?.version, registered[name]?.status], ["1", "READY"], name);
    assert.match(registered[MODELS.s3]?.uri ?? "", /^s3:\/\//);
    assert.match(registered[MODELS.azure]?.uri ?? "", /^abfss:\/\//);
    // The files are in the customer's own storage, put there by the gateway's child with the workspace's credentials.
    const s3Keys = await (s3 as S3ModelStorage).listKeys((s3 as S3ModelStorage).versionPrefix(MODELS.s3, "1"));
    assert.ok(
      s3Keys.some((key) => key.endsWith("/MLmodel")),
      `MLmodel in S3: ${s3Keys.join(", ")}`,
    );
    const blobs = await (azure as AzureModelStorage).listBlobs((azure as AzureModelStorage).versionPath(MODELS.azure, "1"));
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
for name in json.loads(${JSON.stringify(JSON.stringify(Object.values(MODELS)))}):
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    out[name] = [float(v) for v in model.predict(pd.DataFrame({"x": [1.5, 4.0]}))]
emit(out)
`,
      { auth: { kind: "token", token: aliceToken }, env: workspace.modelStorage.clientEnv, timeoutMs: PYTHON_TIMEOUT_MS },
    );
    for (const name of Object.values(MODELS)) assert.deepEqual((result as Record<string, number[]>)[name], [3, 8], name);
  });

  it("serves each version's files to the UI through the gateway", async () => {
    const cookie = frontDoor.login(ALICE);
    for (const name of Object.values(MODELS)) {
      const response = await fetch(`${frontDoor.url}/model-versions/get-artifact?name=${name}&version=1&path=MLmodel`, { headers: { cookie } });
      assert.equal(response.status, 200, `${name}: ${await response.clone().text()}`);
      assert.equal(await response.text(), trained.mlmodel, name);
    }
  });
});
