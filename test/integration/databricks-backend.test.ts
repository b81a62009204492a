import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import { databricksEnv, MLMODEL_WITH_SIGNATURE } from "../support/databricks.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { runPythonJson } from "../support/python.js";

const ALICE = "alice@example.com";
const MODEL = `main.gateway_it.churn_${Date.now()}`;

interface Tracked {
  experiment_id: string;
  run_id: string;
  artifact_uri: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tag: string;
  user: string;
  user_id: string;
}

// One workspace emulator, one gateway in Databricks mode, and the Apps front door in
// front of it: client -> front door -> gateway -> mlflow server child -> workspace.
describe("Databricks as the backend, end to end", () => {
  let workspace: WorkspaceEmulator;
  let gateway: GatewayProcess;
  let frontDoor: FrontDoor;
  let tracked: Tracked;
  let aliceToken: string;
  let cookie: string;

  before(async () => {
    workspace = await startWorkspaceEmulator({ users: [{ userName: ALICE }] });
    gateway = await startGateway({ tempDataDir: false, env: databricksEnv(workspace) });
    frontDoor = await startFrontDoor({ upstream: gateway.url, workspace });
    aliceToken = await workspace.mintUserToken({ userName: ALICE });
    cookie = frontDoor.login(ALICE);
  });
  after(async () => {
    await frontDoor?.close();
    await gateway?.stop();
    await workspace?.stop();
  });

  it("reports the workspace reachable with the service principal's credentials", async () => {
    const ready = (await (await fetch(`${gateway.url}/-/ready`)).json()) as { checks: Record<string, { ok: boolean; detail: string }> };
    assert.equal(ready.checks["databricks"]?.ok, true);
    assert.match(ready.checks["databricks"]?.detail ?? "", /service principal's credentials/);
  });

  it("stores what the real MLflow client logs in the workspace, every backend call made as the service principal", async () => {
    workspace.clearCalls();
    tracked = await runPythonJson<Tracked>("databricks_roundtrip.py", [frontDoor.url, "track", `/Users/${ALICE}/gateway-it-${Date.now()}`], {
      MLFLOW_TRACKING_TOKEN: aliceToken,
      USER: "mallory",
    });
    assert.deepEqual(tracked.params, { alpha: "0.5", l1_ratio: "0.1" });
    assert.equal(tracked.metrics["rmse"], 0.8);
    assert.equal(tracked.tag, "integration");
    assert.equal(tracked.user, ALICE, "the run records the person, not the client's claim");
    // Databricks itself sets a run's user_id to the authenticated caller, the service principal.
    assert.equal(tracked.user_id, workspace.servicePrincipal.applicationId);
    assert.match(tracked.artifact_uri, /^dbfs:\/databricks\/mlflow-tracking\/\d+\/[0-9a-f]{32}\/artifacts$/);

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
    assert.equal(response.headers.get("content-type"), "text/plain");
    assert.match(response.headers.get("content-disposition") ?? "", /^attachment; filename="MLmodel"/);
    assert.equal(await response.text(), MLMODEL_WITH_SIGNATURE);
    const missing = await fetch(`${frontDoor.url}/model-versions/get-artifact?name=${MODEL}&version=1&path=nope.txt`, { headers: { cookie } });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error_code: string }).error_code, "RESOURCE_DOES_NOT_EXIST");
  });
});
