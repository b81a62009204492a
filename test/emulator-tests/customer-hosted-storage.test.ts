// Unity Catalog models on customer-hosted storage: the emulator answers
// generate-temporary-credentials with CUSTOMER_HOSTED cloud credentials and
// the real MLflow client then reads and writes the model version's files
// with the cloud's own SDK, against real local storage servers: moto (S3,
// STS, IAM with authentication on) and Azurite (blob service, behind the
// emulator's HTTPS DFS front). One emulator per storage, one after the other,
// to keep the 2-core test machine to one `mlflow server` at a time.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";
import type { ModelStorageFactory } from "../emulator/model-storage.js";
import { runMlflowPython } from "../emulator/python-client.js";
import { ucAdmin } from "../emulator/uc-admin.js";
import { callS3 } from "../emulator/storage/aws-client.js";
import { type AzureModelStorage, azureModelStorage } from "../emulator/storage/azure-storage.js";
import { httpsCall } from "../emulator/storage/https-call.js";
import { type S3ModelStorage, s3ModelStorage } from "../emulator/storage/s3-storage.js";

const MODEL_NAME = "main.default.customer_hosted_model";
const ADMIN = "admin@example.com";
const CREDENTIAL_TTL_MS = 15 * 60 * 1000;
/** The Python run installs nothing, but a cold MLflow import plus a pyfunc save is slow on 2 cores. */
const PYTHON_TIMEOUT_MS = 240_000;

/** Logs a pyfunc model, registers it in Unity Catalog, aliases it, loads it back and downloads its MLmodel. */
const roundTripScript = (experiment: string): string => `
import os, mlflow, pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature
class AddOne(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["x"] + 1
mlflow.set_experiment(${JSON.stringify(experiment)})
df = pd.DataFrame({"x": [1.0, 2.0]})
with mlflow.start_run():
    info = mlflow.pyfunc.log_model(name="model", python_model=AddOne(), input_example=df,
        signature=infer_signature(df, pd.Series([2.0, 3.0])), pip_requirements=["mlflow"])
name = ${JSON.stringify(MODEL_NAME)}
mv = mlflow.register_model(info.model_uri, name)
c = MlflowClient()
c.set_registered_model_alias(name, "champion", mv.version)
pred = list(mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(df))
mlmodel = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{mv.version}/MLmodel")
emit({
  "version": mv.version, "status": mv.status, "pred": pred,
  "download_uri": c.get_model_version_download_uri(name, mv.version),
  "mlmodel": open(mlmodel).read(),
})
`;

interface RoundTrip {
  version: string;
  status: string;
  pred: number[];
  download_uri: string;
  mlmodel: string;
}

/** Starts an emulator on the storage and hands the storage object back too. */
async function startWithStorage<S>(factory: ModelStorageFactory): Promise<{ emu: WorkspaceEmulator; storage: S }> {
  let storage: unknown;
  const emu = await startWorkspaceEmulator({
    users: [{ userName: ADMIN, groups: ["admins"] }],
    modelStorage: async (env) => {
      storage = await factory(env);
      return storage as Awaited<ReturnType<ModelStorageFactory>>;
    },
  });
  return { emu, storage: storage as S };
}

async function callApi(emu: WorkspaceEmulator, path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = await emu.mintServicePrincipalToken();
  const res = await fetch(`${emu.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function readCredentials(emu: WorkspaceEmulator, version: string): Promise<Record<string, unknown>> {
  const { status, json } = await callApi(emu, "/api/2.0/mlflow/unity-catalog/model-versions/generate-temporary-credentials", {
    name: MODEL_NAME,
    version,
    operation: "MODEL_VERSION_OPERATION_READ",
  });
  assert.equal(status, 200, JSON.stringify(json));
  return json.credentials as Record<string, unknown>;
}

async function runRoundTrip(emu: WorkspaceEmulator, clientEnv: Record<string, string>, experimentLeaf: string): Promise<RoundTrip> {
  // The metastore starts empty: an admin creates main.default and lets the service principal register models there.
  await (await ucAdmin(emu, ADMIN)).allowModels("main.default", emu.servicePrincipal.applicationId);
  const experiment = `/Users/${emu.servicePrincipal.applicationId}/${experimentLeaf}`;
  const { result } = await runMlflowPython(emu, roundTripScript(experiment), { env: clientEnv, timeoutMs: PYTHON_TIMEOUT_MS });
  return result as RoundTrip;
}

function assertRoundTrip(r: RoundTrip, expectedLocation: string): void {
  assert.equal(r.status, "READY");
  assert.deepEqual(r.pred, [2, 3]);
  assert.equal(r.download_uri, expectedLocation);
  assert.match(r.mlmodel, /python_function/);
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("S3 customer-hosted storage (moto with IAM authentication)", () => {
  let emu: WorkspaceEmulator;
  let storage: S3ModelStorage;
  let version = "";
  let mlmodel = "";

  before(async () => {
    ({ emu, storage } = await startWithStorage<S3ModelStorage>(s3ModelStorage()));
  });
  after(async () => {
    await emu?.stop();
  });

  it("registers, aliases, loads and downloads a model whose files live in the bucket", async () => {
    const r = await runRoundTrip(emu, storage.clientEnv, "customer-hosted-s3");
    version = r.version;
    mlmodel = r.mlmodel;
    const prefix = storage.versionPrefix(MODEL_NAME, version);
    assertRoundTrip(r, `s3://${storage.bucket}/${prefix}`);
    const keys = await storage.listKeys(`${prefix}/`);
    for (const file of ["MLmodel", "python_model.pkl", "input_example.json", "requirements.txt"]) {
      assert.ok(keys.includes(`${prefix}/${file}`), `${file} missing in the bucket: ${keys.join(", ")}`);
    }
    const vended = emu.calls.filter((c) => c.path === "/api/2.0/mlflow/unity-catalog/model-versions/generate-temporary-credentials");
    assert.ok(vended.length >= 2 && vended.every((c) => c.status === 200));
    // Nothing went to Databricks-managed model storage (/Models/... through /api/2.0/fs or /blob).
    assert.ok(!emu.calls.some((c) => c.path.includes("/Models/")));
  });

  it("vends STS session credentials that read the version and nothing else", async () => {
    const credentials = await readCredentials(emu, version);
    assert.equal(credentials.storage_mode, "CUSTOMER_HOSTED");
    const aws = credentials.aws_temp_credentials as { access_key_id: string; secret_access_key: string; session_token: string };
    assert.match(aws.access_key_id, /^ASIA/);
    assert.ok(Math.abs(Number(credentials.expiration_time) - (Date.now() + CREDENTIAL_TTL_MS)) < 60_000);
    const session = { accessKeyId: aws.access_key_id, secretAccessKey: aws.secret_access_key, sessionToken: aws.session_token };
    const key = `${storage.versionPrefix(MODEL_NAME, version)}/MLmodel`;

    const read = await callS3(storage.endpoint, session, { method: "GET", bucket: storage.bucket, key });
    assert.equal(read.status, 200);
    assert.equal(read.text, mlmodel);
    const write = await callS3(storage.endpoint, session, { method: "PUT", bucket: storage.bucket, key, body: "overwritten" });
    assert.equal(write.status, 403);
    assert.match(write.text, /<Code>AccessDenied<\/Code>/);
    const otherVersion = await callS3(storage.endpoint, session, {
      method: "GET",
      bucket: storage.bucket,
      key: key.replace(`/${version}/`, "/999/"),
    });
    assert.equal(otherVersion.status, 403);
    assert.match(otherVersion.text, /<Code>AccessDenied<\/Code>/);
  });

  it("refuses tampered credentials in moto itself", async () => {
    const aws = (await readCredentials(emu, version)).aws_temp_credentials as {
      access_key_id: string;
      secret_access_key: string;
      session_token: string;
    };
    const key = `${storage.versionPrefix(MODEL_NAME, version)}/MLmodel`;
    const get = (accessKeyId: string, secretAccessKey: string, sessionToken: string) =>
      callS3(storage.endpoint, { accessKeyId, secretAccessKey, sessionToken }, { method: "GET", bucket: storage.bucket, key });
    const flipped = (s: string): string => `${s.slice(0, -1)}${s.endsWith("A") ? "B" : "A"}`;

    const wrongSecret = await get(aws.access_key_id, flipped(aws.secret_access_key), aws.session_token);
    assert.equal(wrongSecret.status, 403);
    assert.match(wrongSecret.text, /<Code>SignatureDoesNotMatch<\/Code>/);
    const wrongToken = await get(aws.access_key_id, aws.secret_access_key, flipped(aws.session_token));
    assert.equal(wrongToken.status, 400);
    assert.match(wrongToken.text, /<Code>InvalidToken<\/Code>/);
    const unknownKey = await get(flipped(aws.access_key_id), aws.secret_access_key, aws.session_token);
    assert.equal(unknownKey.status, 403);
    assert.match(unknownKey.text, /<Code>InvalidAccessKeyId<\/Code>/);
  });

  it("deletes the files with the version and stops moto", async () => {
    const { status } = await fetch(`${emu.url}/api/2.0/mlflow/unity-catalog/model-versions/delete`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${await emu.mintServicePrincipalToken()}`, "content-type": "application/json" },
      body: JSON.stringify({ name: MODEL_NAME, version }),
    });
    assert.equal(status, 200);
    assert.deepEqual(await storage.listKeys(`${storage.versionPrefix(MODEL_NAME, version)}/`), []);
    await emu.stop();
    assert.equal(isAlive(storage.serverPid), false);
    await assert.rejects(fetch(`${storage.endpoint.url}/moto-api/`));
  });
});

describe("Azure customer-hosted storage (Azurite behind the DFS front)", () => {
  let emu: WorkspaceEmulator;
  let storage: AzureModelStorage;
  let version = "";
  let mlmodel = "";
  const blobUrl = (sas: string): string =>
    `${storage.blobServiceUrl}/${storage.container}/${storage.versionPath(MODEL_NAME, version)}/MLmodel?${sas}`;

  before(async () => {
    ({ emu, storage } = await startWithStorage<AzureModelStorage>(azureModelStorage()));
  });
  after(async () => {
    await emu?.stop();
  });

  it("registers, aliases, loads and downloads a model whose files live in Azurite", async () => {
    const r = await runRoundTrip(emu, storage.clientEnv, "customer-hosted-azure");
    version = r.version;
    mlmodel = r.mlmodel;
    const folder = storage.versionPath(MODEL_NAME, version);
    assertRoundTrip(r, `abfss://${storage.container}@${new URL(storage.frontUrl).host}/${folder}`);
    const blobs = await storage.listBlobs(`${folder}/`);
    for (const file of ["MLmodel", "python_model.pkl", "input_example.json", "requirements.txt"]) {
      assert.ok(blobs.includes(`${folder}/${file}`), `${file} missing in Azurite: ${blobs.join(", ")}`);
    }
    assert.ok(!emu.calls.some((c) => c.path.includes("/Models/")));
  });

  it("vends a read-only user delegation SAS that Azurite enforces", async () => {
    const credentials = await readCredentials(emu, version);
    assert.equal(credentials.storage_mode, "CUSTOMER_HOSTED");
    const sas = (credentials.azure_user_delegation_sas as { sas_token: string }).sas_token;
    const fields = new URLSearchParams(sas);
    assert.equal(fields.get("sp"), "rl");
    assert.equal(fields.get("sr"), "c");
    assert.ok(fields.get("skoid") && fields.get("sktid") && fields.get("sig"));
    assert.equal(Date.parse(fields.get("se") ?? ""), Number(credentials.expiration_time) - (Number(credentials.expiration_time) % 1000));
    assert.ok(Math.abs(Number(credentials.expiration_time) - (Date.now() + CREDENTIAL_TTL_MS)) < 60_000);

    const read = await httpsCall({ url: blobUrl(sas), method: "GET", ca: storage.caPem });
    assert.equal(read.status, 200);
    assert.equal(read.body.toString("utf8"), mlmodel);
    // Straight to Azurite: the refusal is the storage server's own.
    const write = await httpsCall({
      url: blobUrl(sas),
      method: "PUT",
      ca: storage.caPem,
      headers: { "x-ms-blob-type": "BlockBlob", "x-ms-version": "2020-12-06" },
      body: "overwritten",
    });
    assert.equal(write.status, 403);
    assert.equal(write.headers["x-ms-error-code"], "AuthorizationPermissionMismatch");
    // Through the DFS front, as MLflow would write: Azurite's answer relayed in the DFS error shape.
    const path = `${storage.container}/${storage.versionPath(MODEL_NAME, version)}/new-file`;
    const create = await httpsCall({ url: `${storage.frontUrl}/${path}?resource=file&${sas}`, method: "PUT", ca: storage.caPem });
    assert.equal(create.status, 403);
    assert.equal((JSON.parse(create.body.toString("utf8")) as { error: { code: string } }).error.code, "AuthorizationPermissionMismatch");
  });

  it("refuses an expired or tampered SAS in Azurite itself", async () => {
    const now = Date.now();
    const expired = await storage.sasToken("MODEL_VERSION_OPERATION_READ", {
      start: new Date(now - 20 * 60_000),
      expiry: new Date(now - 5 * 60_000),
    });
    const stale = await httpsCall({ url: blobUrl(expired), method: "GET", ca: storage.caPem });
    assert.equal(stale.status, 403);
    assert.equal(stale.headers["x-ms-error-code"], "AuthorizationFailure");

    const valid = (await readCredentials(emu, version)).azure_user_delegation_sas as { sas_token: string };
    const widened = valid.sas_token.replace("sp=rl", "sp=racwl");
    const tampered = await httpsCall({
      url: blobUrl(widened),
      method: "PUT",
      ca: storage.caPem,
      headers: { "x-ms-blob-type": "BlockBlob", "x-ms-version": "2020-12-06" },
      body: "overwritten",
    });
    assert.equal(tampered.status, 403);
    assert.equal(tampered.headers["x-ms-error-code"], "AuthorizationFailure");
    const unchanged = await httpsCall({ url: blobUrl(valid.sas_token), method: "GET", ca: storage.caPem });
    assert.equal(unchanged.body.toString("utf8"), mlmodel);
  });

  it("deletes the files with the version and stops Azurite and the front", async () => {
    const { status } = await fetch(`${emu.url}/api/2.0/mlflow/unity-catalog/model-versions/delete`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${await emu.mintServicePrincipalToken()}`, "content-type": "application/json" },
      body: JSON.stringify({ name: MODEL_NAME, version }),
    });
    assert.equal(status, 200);
    assert.deepEqual(await storage.listBlobs(`${storage.versionPath(MODEL_NAME, version)}/`), []);
    await emu.stop();
    assert.equal(isAlive(storage.serverPid), false);
    await assert.rejects(httpsCall({ url: `${storage.blobServiceUrl}?comp=list`, method: "GET", ca: storage.caPem }));
    await assert.rejects(httpsCall({ url: `${storage.frontUrl}/`, method: "GET", ca: storage.caPem }));
  });
});
