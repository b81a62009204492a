// Fault knobs, the Files API, signed blob URLs and the Databricks-specific
// rules of the tracking and Unity Catalog surfaces, over plain HTTP.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";
import { ucAdmin } from "../emulator/uc-admin.js";

let emu: WorkspaceEmulator;
let token: string;

interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function api(method: string, path: string, body?: unknown): Promise<JsonResponse> {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

before(async () => {
  emu = await startWorkspaceEmulator({ users: [{ userName: "admin@example.com", groups: ["admins"] }] });
  token = await emu.mintServicePrincipalToken();
  // The metastore starts empty: an admin lets the service principal register
  // models in main.default and write to the volume main.default.vol.
  const uc = await ucAdmin(emu, "admin@example.com");
  await uc.allowModels("main.default", emu.servicePrincipal.applicationId);
  await uc.allowVolume("main.default.vol", emu.servicePrincipal.applicationId, "write");
});

after(async () => {
  emu.faults.clear();
  await emu?.stop();
});

describe("faults", () => {
  it("429s the next N calls under a prefix with Retry-After, then recovers", async () => {
    emu.faults.set({ rateLimit: { count: 2, pathPrefix: "/api/2.0/mlflow/", retryAfterSeconds: 7 } });
    const scim = await api("GET", "/api/2.0/preview/scim/v2/Me");
    assert.equal(scim.status, 200, "other prefixes are not throttled");
    for (let i = 0; i < 2; i += 1) {
      const res = await api("GET", "/api/2.0/mlflow/experiments/search?max_results=1");
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "7");
      assert.equal(res.body.error_code, "REQUEST_LIMIT_EXCEEDED");
      assert.match(String(res.body.message), /RPC token bucket limit has been exceeded/);
    }
    const ok = await api("GET", "/api/2.0/mlflow/experiments/search?max_results=1");
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(ok.body.experiments));
    emu.faults.clear();
  });

  it("429s without Retry-After by default, as Databricks does not always send one", async () => {
    emu.faults.set({ rateLimit: { count: 1 } });
    const res = await api("GET", "/api/2.0/preview/scim/v2/Me");
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), null);
    assert.equal(res.body.error_code, "REQUEST_LIMIT_EXCEEDED");
    emu.faults.set({ rateLimit: { count: 1, errorCode: "RESOURCE_EXHAUSTED" } });
    assert.equal((await api("GET", "/api/2.0/preview/scim/v2/Me")).body.error_code, "RESOURCE_EXHAUSTED");
    emu.faults.clear();
  });

  it("answers 503 and 500 in Databricks' shape", async () => {
    emu.faults.set({ serverError: { count: 1 } });
    const unavailable = await api("GET", "/api/2.0/preview/scim/v2/Me");
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.body.error_code, "TEMPORARILY_UNAVAILABLE");
    emu.faults.set({ serverError: { count: 1, status: 500 } });
    const internal = await api("GET", "/api/2.0/preview/scim/v2/Me");
    assert.deepEqual(internal.body, { error_code: "INTERNAL_ERROR", message: "Internal error occurred. Please try again later." });
    assert.equal(internal.status, 500);
    assert.equal((await api("GET", "/api/2.0/preview/scim/v2/Me")).status, 200);
    emu.faults.clear();
  });

  it("can take the token endpoint and the JWKS down", async () => {
    emu.faults.set({ tokenEndpointDown: true, jwksDown: true });
    const sp = emu.servicePrincipal;
    const tokenRes = await fetch(`${emu.url}/oidc/v1/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${sp.applicationId}:${sp.secret}`).toString("base64")}`,
      },
      body: "grant_type=client_credentials&scope=all-apis",
    });
    assert.equal(tokenRes.status, 503);
    assert.equal(((await tokenRes.json()) as Record<string, unknown>).error, "temporarily_unavailable");
    const jwks = await fetch(`${emu.url}/oidc/v1/keys`);
    assert.equal(jwks.status, 503);
    assert.equal(((await jwks.json()) as Record<string, unknown>).error_code, "TEMPORARILY_UNAVAILABLE");
    emu.faults.clear();
    assert.equal((await fetch(`${emu.url}/oidc/v1/keys`)).status, 200);
  });

  it("adds latency", async () => {
    emu.faults.set({ latencyMs: 300 });
    const started = Date.now();
    const res = await api("GET", "/api/2.0/preview/scim/v2/Me");
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started >= 290, "answer was not delayed");
    emu.faults.clear();
  });
});

describe("tracking forward", () => {
  it("creates experiments at workspace paths with dbfs artifact locations and owns runs by the caller", async () => {
    const bad = await api("POST", "/api/2.0/mlflow/experiments/create", { name: "no-slash" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error_code, "INVALID_PARAMETER_VALUE");
    assert.match(String(bad.body.message), /absolute path within the Databricks workspace/);

    const created = await api("POST", "/api/2.0/mlflow/experiments/create", { name: `/Users/${emu.servicePrincipal.applicationId}/http` });
    assert.equal(created.status, 200);
    assert.equal(created.headers.get("x-databricks-org-id"), emu.workspaceId);
    const id = String(created.body.experiment_id);
    const got = await api("GET", `/api/2.0/mlflow/experiments/get?experiment_id=${id}`);
    const exp = got.body.experiment as Record<string, unknown>;
    assert.equal(exp.artifact_location, `dbfs:/databricks/mlflow-tracking/${id}`);

    const run = await api("POST", "/api/2.0/mlflow/runs/create", { experiment_id: id, user_id: "spoofed" });
    const info = (run.body.run as { info: Record<string, unknown> }).info;
    assert.equal(info.user_id, emu.servicePrincipal.applicationId);
    assert.equal(info.artifact_uri, `dbfs:/databricks/mlflow-tracking/${id}/${String(info.run_id)}/artifacts`);
  });

  it("answers unknown endpoints with ENDPOINT_NOT_FOUND", async () => {
    const res = await api("GET", "/api/2.0/mlflow/no-such-thing");
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error_code: "ENDPOINT_NOT_FOUND", message: "No API found for 'GET /mlflow/no-such-thing'" });
    const other = await api("GET", "/api/2.0/clusters/list");
    assert.equal(other.body.error_code, "ENDPOINT_NOT_FOUND");
  });
});

describe("Files API and signed URLs", () => {
  const file = "/Volumes/main/default/vol/dir/hello.txt";
  it("puts, heads, gets, lists and deletes files", async () => {
    const put = await fetch(`${emu.url}/api/2.0/fs/files${file}?overwrite=false`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
      body: "hello files",
    });
    assert.equal(put.status, 204);
    const again = await fetch(`${emu.url}/api/2.0/fs/files${file}?overwrite=false`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}` },
      body: "x",
    });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as Record<string, unknown>).error_code, "ALREADY_EXISTS");
    const head = await fetch(`${emu.url}/api/2.0/fs/files${file}`, { method: "HEAD", headers: { authorization: `Bearer ${token}` } });
    assert.equal(head.headers.get("content-length"), "11");
    const get = await fetch(`${emu.url}/api/2.0/fs/files${file}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(await get.text(), "hello files");
    const listing = await api("GET", "/api/2.0/fs/directories/Volumes/main/default/vol");
    assert.deepEqual(listing.body.contents, [{ path: "/Volumes/main/default/vol/dir/", is_directory: true, name: "dir" }]);
    const missing = await api("GET", "/api/2.0/fs/files/Volumes/main/default/vol/none.txt");
    assert.deepEqual(missing.body, { error_code: "NOT_FOUND", message: "The file being accessed is not found." });
    const del = await fetch(`${emu.url}/api/2.0/fs/files${file}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    assert.equal(del.status, 204);
  });

  it("issues signed URLs that work without a bearer token and reject tampering", async () => {
    // Upload URLs for model files exist only for a version still being registered.
    assert.equal((await api("POST", "/api/2.0/mlflow/unity-catalog/registered-models/create", { name: "main.default.m" })).status, 200);
    const mv = await api("POST", "/api/2.0/mlflow/unity-catalog/model-versions/create", {
      name: "main.default.m",
      source: "dbfs:/databricks/mlflow-tracking/0/abc/artifacts/model",
    });
    assert.equal(mv.status, 200);
    const upload = await api("POST", "/api/2.0/fs/create-upload-url", { path: "/Models/main/default/m/1/MLmodel" });
    const url = String(upload.body.url);
    assert.ok(url.startsWith(`${emu.url}/blob/Models/main/default/m/1/MLmodel?`));
    assert.deepEqual(upload.body.headers, []);
    const put = await fetch(url, { method: "PUT", body: "flavors: {}" });
    assert.equal(put.status, 200);
    assert.ok(put.headers.get("etag"));
    const download = await api("POST", "/api/2.0/fs/create-download-url", { path: "/Models/main/default/m/1/MLmodel" });
    const got = await fetch(String(download.body.url));
    assert.equal(await got.text(), "flavors: {}");
    const tampered = String(download.body.url).replace("MLmodel", "other");
    const bad = await fetch(tampered);
    assert.equal(bad.status, 403);
    assert.match(await bad.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    const readAsWrite = await fetch(String(download.body.url), { method: "PUT", body: "x" });
    assert.equal(readAsWrite.status, 403);
    const blobCalls = emu.calls.filter((c) => c.surface === "blob");
    assert.ok(blobCalls.some((c) => c.credential === "signed_url" && c.status === 200));
    assert.ok(blobCalls.every((c) => !c.path.includes("sig=")));
  });
});

describe("Unity Catalog rules", () => {
  it("requires three-level names and hides emulator bookkeeping", async () => {
    const two = await api("POST", "/api/2.0/mlflow/unity-catalog/registered-models/create", { name: "default.model" });
    assert.equal(two.status, 400);
    assert.match(String(two.body.message), /specify all three levels/);
    const created = await api("POST", "/api/2.0/mlflow/unity-catalog/registered-models/create", {
      name: "main.default.http_model",
      description: "d",
      tags: [{ key: "team", value: "ml" }],
    });
    assert.equal(created.status, 200);
    const rm = created.body.registered_model as Record<string, unknown>;
    assert.equal(rm.name, "main.default.http_model");
    assert.equal(rm.user_id, emu.servicePrincipal.applicationId);
    assert.deepEqual(rm.tags, [{ key: "team", value: "ml" }]);
    const mv = await api("POST", "/api/2.0/mlflow/unity-catalog/model-versions/create", {
      name: "main.default.http_model",
      source: "dbfs:/databricks/mlflow-tracking/0/abc/artifacts/model",
    });
    const version = mv.body.model_version as Record<string, unknown>;
    assert.equal(version.status, "PENDING_REGISTRATION");
    assert.equal(version.storage_location, `s3://databricks-workspace-emulator/${emu.workspaceId}/Models/main/default/http_model/1`);
    const creds = await api("POST", "/api/2.0/mlflow/unity-catalog/model-versions/generate-temporary-credentials", {
      name: "main.default.http_model",
      version: "1",
      operation: "MODEL_VERSION_OPERATION_READ_WRITE",
    });
    assert.equal((creds.body.credentials as Record<string, unknown>).storage_mode, "DEFAULT_STORAGE");
    const fin = await api("POST", "/api/2.0/mlflow/unity-catalog/model-versions/finalize", { name: "main.default.http_model", version: "1" });
    assert.equal((fin.body.model_version as Record<string, unknown>).status, "READY");
    const late = await api("POST", "/api/2.0/mlflow/unity-catalog/model-versions/generate-temporary-credentials", {
      name: "main.default.http_model",
      version: "1",
      operation: "MODEL_VERSION_OPERATION_READ_WRITE",
    });
    assert.equal(late.status, 400);
    const missing = await api("GET", "/api/2.0/mlflow/unity-catalog/registered-models/get?name=main.default.none");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error_code, "RESOURCE_DOES_NOT_EXIST");
  });
});
