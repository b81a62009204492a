import path from "node:path";
// The gateway's own setup in miniature: an open-source
// `mlflow server --backend-store-uri databricks --registry-store-uri databricks-uc`
// child authenticated as the emulator's service principal. Plain REST calls
// to the child must reach the emulator, and the emulator's call record must
// show that every call used the service principal's OAuth token.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { execa, type ResultPromise } from "execa";
import { freePort } from "../emulator/server-process.js";
import { type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";
import { ucAdmin } from "../emulator/uc-admin.js";
import { mlflowServerArgs } from "../support/mlflow-server-args.js";

let emu: WorkspaceEmulator;
let child: ResultPromise | undefined;
let childUrl = "";

async function childJson(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${childUrl}${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

before(async () => {
  emu = await startWorkspaceEmulator({ users: [{ userName: "admin@example.com", groups: ["admins"] }] });
  // The metastore starts empty: an admin lets the service principal register models in main.default.
  await (await ucAdmin(emu, "admin@example.com")).allowModels("main.default", emu.servicePrincipal.applicationId);
  const port = await freePort();
  childUrl = `http://127.0.0.1:${port}`;
  child = execa(
    path.resolve(import.meta.dirname, "../../.venv/bin/mlflow"),
    mlflowServerArgs({ port, backendStoreUri: "databricks", registryStoreUri: "databricks-uc" }),
    {
      detached: true,
      reject: false,
      stdio: "ignore",
      extendEnv: false,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: emu.dataDir,
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
        DATABRICKS_HOST: emu.url,
        DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
        DATABRICKS_CLIENT_SECRET: emu.servicePrincipal.secret,
      },
    },
  );
  // Up to two minutes: a loaded 2-core machine starts MLflow's server (two Python imports) slowly.
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    try {
      if ((await fetch(`${childUrl}/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("mlflow server child did not start");
});

after(async () => {
  const pid = child?.pid;
  if (pid !== undefined) {
    // uvicorn workers are grandchildren: end the whole process group.
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      try {
        process.kill(-pid, signal);
      } catch {
        // already gone
      }
      await Promise.race([child, new Promise((r) => setTimeout(r, 3000))]);
    }
  }
  await emu?.stop();
});

describe("mlflow server child with a Databricks backend", () => {
  it("tracks runs, serves run artifacts and registers UC models through the emulator", async () => {
    emu.clearCalls();
    const { experiment_id: expId } = await childJson("POST", "/api/2.0/mlflow/experiments/create", {
      name: `/Users/${emu.servicePrincipal.applicationId}/child`,
    });
    const created = await childJson("POST", "/api/2.0/mlflow/runs/create", { experiment_id: expId, run_name: "via-child" });
    const info = (created.run as { info: Record<string, string> }).info;
    const runId = String(info.run_id);
    assert.equal(info.artifact_uri, `dbfs:/databricks/mlflow-tracking/${String(expId)}/${runId}/artifacts`);
    await childJson("POST", "/api/2.0/mlflow/runs/log-parameter", { run_id: runId, key: "lr", value: "0.1" });
    const got = await childJson("GET", `/api/2.0/mlflow/runs/get?run_id=${runId}`);
    const data = (got.run as { data: { params: { key: string; value: string }[] } }).data;
    assert.deepEqual(data.params, [{ key: "lr", value: "0.1" }]);

    await emu.putRunArtifact(runId, "plots/loss.txt", "0.9,0.5,0.2");
    const listing = await childJson("GET", `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=plots`);
    assert.deepEqual(listing.files, [{ path: "plots/loss.txt", is_dir: false, file_size: 11 }]);
    const artifact = await fetch(`${childUrl}/get-artifact?path=plots/loss.txt&run_uuid=${runId}`);
    assert.equal(await artifact.text(), "0.9,0.5,0.2");

    await childJson("POST", "/api/2.0/mlflow/registered-models/create", { name: "main.default.child_model" });
    const rm = await childJson("GET", "/api/2.0/mlflow/registered-models/get?name=main.default.child_model");
    assert.equal((rm.registered_model as Record<string, unknown>).name, "main.default.child_model");

    const apiCalls = emu.calls.filter((c) => c.surface === "api");
    const seen = new Set(apiCalls.map((c) => `${c.method} ${c.path}`));
    for (const expected of [
      "POST /api/2.0/mlflow/experiments/create",
      "POST /api/2.0/mlflow/runs/log-parameter",
      "POST /api/2.0/mlflow/unity-catalog/registered-models/create",
      "GET /api/2.0/mlflow/unity-catalog/registered-models/get",
    ]) {
      assert.ok(seen.has(expected), `${expected} not seen in ${[...seen].join(", ")}`);
    }
    for (const call of apiCalls) {
      assert.equal(call.principalName, emu.servicePrincipal.applicationId, `${call.method} ${call.path}`);
      assert.equal(call.credential, "oauth");
      assert.equal(call.status < 500, true);
    }
  });
});
