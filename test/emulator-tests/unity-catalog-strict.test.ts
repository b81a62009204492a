// Unity Catalog as strict as a real workspace: an empty metastore an admin
// fills through the REST API (driven with the official databricks-sdk where
// it covers the call), lower-case names, 404s for missing catalogs and
// schemas, privileges for models and volumes, and a Files API that reaches
// volumes, experiment artifacts and model versions only. Each case also shows
// that the emulator's earlier permissive answer is gone.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";
import { runMlflowPython } from "../emulator/python-client.js";
import { type UcAdmin, ucAdmin } from "../emulator/uc-admin.js";

const ADMIN = "admin@example.com";
const DANA = "dana@example.com";
const SP = "service-principal";
const UC = "/api/2.0/mlflow/unity-catalog";

let emu: WorkspaceEmulator;
let admin: UcAdmin;
const tokens: Record<string, string> = {};

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(who: string, method: string, path: string, body?: unknown, raw?: string): Promise<Answer> {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[who] ?? ""}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(raw !== undefined ? { body: raw } : body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text && text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}

/** Runs a databricks-sdk script as `who`; `emit`s what it returns. */
async function sdk(who: string, script: string): Promise<Record<string, unknown>> {
  const prelude = `
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.catalog import PermissionsChange, Privilege, VolumeType
import io
w = WorkspaceClient()
def err(fn):
    try:
        fn()
        return None
    except Exception as e:
        return [type(e).__name__, getattr(e, "error_code", None), str(e).split(" Config: ")[0]]
`;
  const { result } = await runMlflowPython(emu, prelude + script, { auth: { kind: "token", token: tokens[who] ?? "" } });
  return result as Record<string, unknown>;
}

before(async () => {
  emu = await startWorkspaceEmulator({
    users: [
      { userName: ADMIN, groups: ["admins"] },
      { userName: DANA, groups: ["data-science"] },
    ],
  });
  tokens[ADMIN] = await emu.mintUserToken({ userName: ADMIN });
  tokens[DANA] = await emu.mintUserToken({ userName: DANA });
  tokens[SP] = await emu.mintServicePrincipalToken();
  admin = await ucAdmin(emu, ADMIN);
});

after(async () => {
  await emu?.stop();
});

describe("securables through the SDK", () => {
  it("starts empty; an admin creates lower-cased catalogs, schemas and volumes; others may not", async () => {
    const r = await sdk(
      ADMIN,
      `
before = [c.name for c in w.catalogs.list()]
cat = w.catalogs.create(name="Main", comment="team")
sch = w.schemas.create(name="ML", catalog_name="MAIN")
vol = w.volumes.create(catalog_name="main", schema_name="ml", name="Files", volume_type=VolumeType.MANAGED)
emit({
  "before": before, "cat": [cat.name, cat.full_name, cat.owner, cat.securable_type.value, cat.metastore_id is not None],
  "schemas": sorted(s.full_name for s in w.schemas.list(catalog_name="main")),
  "schema": [sch.full_name, sch.owner], "volume": [vol.full_name, vol.volume_type.value, vol.owner],
  "read": w.volumes.read("MAIN.ML.FILES").full_name,
  "volumes": [v.name for v in w.volumes.list(catalog_name="main", schema_name="ml")],
  "missing_catalog": err(lambda: w.catalogs.get("nope")),
  "missing_schema": err(lambda: w.schemas.get("main.nope")),
  "missing_volume": err(lambda: w.volumes.read("main.ml.nope")),
  "duplicate": err(lambda: w.catalogs.create(name="MAIN")),
})
`,
    );
    assert.deepEqual(r.before, []);
    assert.deepEqual(r.cat, ["main", "main", ADMIN, "CATALOG", true]);
    assert.deepEqual(r.schemas, ["main.default", "main.information_schema", "main.ml"]);
    assert.deepEqual(r.schema, ["main.ml", ADMIN]);
    assert.deepEqual(r.volume, ["main.ml.files", "MANAGED", ADMIN]);
    assert.equal(r.read, "main.ml.files");
    assert.deepEqual(r.volumes, ["files"]);
    assert.deepEqual(r.missing_catalog, ["NotFound", "CATALOG_DOES_NOT_EXIST", "Catalog 'nope' does not exist."]);
    assert.deepEqual(r.missing_schema, ["NotFound", "SCHEMA_DOES_NOT_EXIST", "Schema 'main.nope' does not exist."]);
    assert.deepEqual(r.missing_volume, ["NotFound", "NOT_FOUND", "Volume 'main.ml.nope' does not exist."]);
    assert.deepEqual(r.duplicate, ["BadRequest", "CATALOG_ALREADY_EXISTS", "Catalog 'main' already exists"]);

    const refused = await call(DANA, "POST", "/api/2.1/unity-catalog/catalogs", { name: "mine" });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error_code, "PERMISSION_DENIED");
    assert.match(String(refused.body.message), /^User does not have CREATE CATALOG on Metastore '/);
    // Dana sees no catalog she cannot use, and cannot read one by name.
    assert.deepEqual((await call(DANA, "GET", "/api/2.1/unity-catalog/catalogs?max_results=0")).body, { catalogs: [] });
    assert.deepEqual((await call(DANA, "GET", "/api/2.1/unity-catalog/catalogs/main")).body, {
      error_code: "PERMISSION_DENIED",
      message: "User does not have USE CATALOG on Catalog 'main'.",
    });
  });

  it("pages lists as the SDK reads them and rejects a negative page size", async () => {
    await admin.ensureCatalog("second");
    const first = await call(ADMIN, "GET", "/api/2.1/unity-catalog/catalogs?max_results=1");
    assert.deepEqual(
      (first.body.catalogs as { name: string }[]).map((c) => c.name),
      ["main"],
    );
    const next = await call(ADMIN, "GET", `/api/2.1/unity-catalog/catalogs?max_results=1&page_token=${String(first.body.next_page_token)}`);
    assert.deepEqual(
      (next.body.catalogs as { name: string }[]).map((c) => c.name),
      ["second"],
    );
    assert.equal(next.body.next_page_token, undefined);
    const negative = await call(ADMIN, "GET", "/api/2.1/unity-catalog/catalogs?max_results=-1");
    assert.equal(negative.status, 400);
    assert.equal(negative.body.error_code, "INVALID_PARAMETER_VALUE");
    const notEmpty = await call(ADMIN, "DELETE", "/api/2.1/unity-catalog/catalogs/second");
    assert.equal(notEmpty.body.error_code, "CATALOG_NOT_EMPTY", "its default schema is content");
    assert.equal((await call(ADMIN, "DELETE", "/api/2.1/unity-catalog/catalogs/second?force=true")).status, 200);
  });

  it("grants with the SDK in either case of securable type; only managers may change them", async () => {
    const r = await sdk(
      ADMIN,
      `
w.grants.update("catalog", "main", changes=[PermissionsChange(principal="${DANA}", add=[Privilege.USE_CATALOG])])
w.grants.update("SCHEMA", "Main.ML", changes=[PermissionsChange(principal="data-science", add=[Privilege.USE_SCHEMA, Privilege.READ_VOLUME])])
got = w.grants.get("schema", "main.ml")
emit({
  "schema": [(a.principal, sorted(p.value for p in a.privileges)) for a in got.privilege_assignments],
  "catalog": [(a.principal, [p.value for p in a.privileges]) for a in w.grants.get("CATALOG", "main").privilege_assignments],
  "workspace_group": err(lambda: w.grants.update("catalog", "main", changes=[PermissionsChange(principal="admins", add=[Privilege.USE_CATALOG])])),
  "not_applicable": err(lambda: w.grants.update("volume", "main.ml.files", changes=[PermissionsChange(principal="${DANA}", add=[Privilege.CREATE_SCHEMA])])),
  "bad_type": err(lambda: w.grants.get("registered_model", "main.ml.x")),
})
`,
    );
    assert.deepEqual(r.schema, [["data-science", ["READ_VOLUME", "USE_SCHEMA"]]]);
    assert.deepEqual(r.catalog, [[DANA, ["USE_CATALOG"]]]);
    assert.deepEqual(r.workspace_group, ["NotFound", "PRINCIPAL_DOES_NOT_EXIST", "Could not find principal with name admins."]);
    assert.equal((r.not_applicable as string[])[1], "INVALID_PARAMETER_VALUE");
    assert.equal((r.bad_type as string[])[1], "INVALID_PARAMETER_VALUE");
    const byDana = await call(DANA, "PATCH", "/api/2.1/unity-catalog/permissions/catalog/main", {
      changes: [{ principal: DANA, add: ["CREATE_SCHEMA"] }],
    });
    assert.deepEqual(byDana.body, { error_code: "PERMISSION_DENIED", message: "User does not have MANAGE on Catalog 'main'." });
    const effective = await call(ADMIN, "GET", "/api/2.1/unity-catalog/effective-permissions/volume/main.ml.files");
    assert.deepEqual(effective.body.privilege_assignments, [
      { principal: DANA, privileges: [{ privilege: "USE_CATALOG", inherited_from_type: "CATALOG", inherited_from_name: "main" }] },
      {
        principal: "data-science",
        privileges: [
          { privilege: "USE_SCHEMA", inherited_from_type: "SCHEMA", inherited_from_name: "main.ml" },
          { privilege: "READ_VOLUME", inherited_from_type: "SCHEMA", inherited_from_name: "main.ml" },
        ],
      },
    ]);
  });
});

describe("registered models", () => {
  it("404s a model in a missing catalog or schema, refuses without CREATE MODEL, then creates once granted", async () => {
    const create = (name: string): Promise<Answer> => call(DANA, "POST", `${UC}/registered-models/create`, { name });
    assert.deepEqual((await create("nope.ml.m")).body, { error_code: "CATALOG_DOES_NOT_EXIST", message: "Catalog 'nope' does not exist." });
    assert.deepEqual((await create("main.nope.m")).body, { error_code: "SCHEMA_DOES_NOT_EXIST", message: "Schema 'main.nope' does not exist." });
    const refused = await create("Main.ML.DanaModel");
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body, { error_code: "PERMISSION_DENIED", message: "User does not have CREATE MODEL on Schema 'main.ml'." });

    await admin.grant("SCHEMA", "main.ml", DANA, ["CREATE_MODEL"]);
    const created = await create("Main.ML.DanaModel");
    assert.equal(created.status, 200);
    assert.equal((created.body.registered_model as Record<string, unknown>).name, "main.ml.danamodel");
    // Any spelling finds it; the answer is lower-case.
    const got = await call(DANA, "GET", `${UC}/registered-models/get?name=MAIN.ml.DANAMODEL`);
    assert.equal((got.body.registered_model as Record<string, unknown>).name, "main.ml.danamodel");
    const again = await create("main.ml.danamodel");
    assert.equal(again.body.error_code, "RESOURCE_ALREADY_EXISTS", "one model whatever the case");
  });

  it("search lists only readable models; reading needs EXECUTE and writing ownership", async () => {
    const secret = await call(ADMIN, "POST", `${UC}/registered-models/create`, { name: "main.ml.secret" });
    assert.equal(secret.status, 200);
    const names = async (): Promise<string[]> =>
      ((await call(DANA, "GET", `${UC}/registered-models/search?max_results=100`)).body.registered_models as { name: string }[]).map((m) => m.name);
    assert.deepEqual(await names(), ["main.ml.danamodel"]);
    assert.deepEqual((await call(DANA, "GET", `${UC}/registered-models/get?name=main.ml.secret`)).body, {
      error_code: "PERMISSION_DENIED",
      message: "User does not have EXECUTE on Registered Model 'main.ml.secret'.",
    });

    await admin.grant("FUNCTION", "main.ml.secret", DANA, ["EXECUTE"]);
    assert.deepEqual((await names()).sort(), ["main.ml.danamodel", "main.ml.secret"]);
    const version = await call(DANA, "POST", `${UC}/model-versions/create`, {
      name: "main.ml.secret",
      source: "dbfs:/databricks/mlflow-tracking/1/abc/artifacts/model",
    });
    assert.deepEqual(version.body, { error_code: "PERMISSION_DENIED", message: "User is not an owner of Registered Model 'main.ml.secret'." });
    const alias = await call(DANA, "POST", `${UC}/registered-models/alias`, { name: "main.ml.secret", alias: "prod", version: "1" });
    assert.equal(alias.status, 403);
    const tag = await call(DANA, "POST", `${UC}/registered-models/set-tag`, { name: "main.ml.secret", key: "k", value: "v" });
    assert.deepEqual(tag.body, { error_code: "PERMISSION_DENIED", message: "User does not have APPLY TAG on Registered Model 'main.ml.secret'." });
  });
});

describe("Files API", () => {
  it("reads a volume with READ VOLUME, writes only with WRITE VOLUME, through the SDK", async () => {
    await call(ADMIN, "PUT", "/api/2.0/fs/files/Volumes/main/ml/files/in/data.csv", undefined, "a,b\n");
    const r = await sdk(
      DANA,
      `
got = w.files.download("/Volumes/Main/ML/Files/in/data.csv").contents.read().decode()
listed = [(e.path, e.is_directory) for e in w.files.list_directory_contents("/Volumes/main/ml/files")]
emit({
  "got": got, "listed": listed,
  "write": err(lambda: w.files.upload("/Volumes/main/ml/files/out.txt", io.BytesIO(b"x"))),
  "missing": err(lambda: w.files.download("/Volumes/main/ml/nope/x")),
})
`,
    );
    // READ VOLUME comes from the group's grant on the schema.
    assert.equal(r.got, "a,b\n");
    assert.deepEqual(r.listed, [["/Volumes/main/ml/files/in/", true]]);
    assert.deepEqual(r.write, ["PermissionDenied", "PERMISSION_DENIED", "User does not have WRITE VOLUME on Volume 'main.ml.files'."]);
    assert.deepEqual((r.missing as string[]).slice(0, 2), ["NotFound", "NOT_FOUND"]);

    await admin.grant("VOLUME", "main.ml.files", DANA, ["WRITE_VOLUME"]);
    const w = await sdk(
      DANA,
      `w.files.upload("/Volumes/main/ml/files/out.txt", io.BytesIO(b"hi"))\nw.files.delete("/Volumes/main/ml/files/out.txt")\nemit({"ok": True})`,
    );
    assert.deepEqual(w, { ok: true });
  });

  it("overwrites unless overwrite=false, refuses other roots, and answers NOT_FOUND / not-empty as Databricks does", async () => {
    const put = (path: string, query = ""): Promise<Answer> => call(ADMIN, "PUT", `/api/2.0/fs/files${path}${query}`, undefined, "v");
    assert.equal((await put("/Volumes/main/ml/files/a.txt")).status, 204);
    assert.equal((await put("/Volumes/main/ml/files/a.txt")).status, 204, "unspecified overwrite replaces the file");
    assert.equal((await put("/Volumes/main/ml/files/a.txt", "?overwrite=true")).status, 204);
    assert.deepEqual((await put("/Volumes/main/ml/files/a.txt", "?overwrite=false")).body, {
      error_code: "ALREADY_EXISTS",
      message: "The file being created already exists.",
    });
    for (const path of ["/tmp/a.txt", "/Volumes/main/ml", "/Users/admin@example.com/a.txt", "/WorkspaceInternal/other/a"]) {
      const refused = await put(path);
      assert.equal(refused.status, 400, path);
      assert.equal(refused.body.error_code, "INVALID_PARAMETER_VALUE", path);
    }
    assert.equal((await put("/Volumes/main/ml/nope/a.txt")).body.error_code, "NOT_FOUND");
    assert.equal((await put("/Volumes/none/ml/files/a.txt")).body.error_code, "CATALOG_DOES_NOT_EXIST");
    assert.deepEqual((await call(ADMIN, "GET", "/api/2.0/fs/directories/Volumes/main/ml/files/none")).body, {
      error_code: "NOT_FOUND",
      message: "The directory being accessed is not found.",
    });
    const notEmpty = await call(ADMIN, "DELETE", "/api/2.0/fs/directories/Volumes/main/ml/files/in");
    assert.equal(notEmpty.status, 400);
    assert.deepEqual(notEmpty.body.details, [
      { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "FILES_API_DIRECTORY_IS_NOT_EMPTY", domain: "filesystem.databricks.com" },
    ]);
    const dana = await call(DANA, "PUT", "/api/2.0/fs/files/Volumes/main/ml/files/in/data.csv", undefined, "x");
    assert.equal(dana.status, 204, "Dana now writes (granted above)");
  });

  it("serves /Models version files through the files endpoint only when the SDK models-artifact flag is on", async () => {
    const name = "main.ml.danamodel";
    const created = await call(DANA, "POST", `${UC}/model-versions/create`, {
      name,
      source: "dbfs:/databricks/mlflow-tracking/1/abc/artifacts/model",
    });
    assert.equal((created.body.model_version as Record<string, unknown>).status, "PENDING_REGISTRATION");
    const upload = await call(DANA, "POST", "/api/2.0/fs/create-upload-url", { path: "/Models/main/ml/danamodel/1/MLmodel" });
    assert.equal((await fetch(String(upload.body.url), { method: "PUT", body: "flavors: {}" })).status, 200);
    assert.equal((await call(DANA, "POST", `${UC}/model-versions/finalize`, { name, version: "1" })).status, 200);
    const file = "/api/2.0/fs/files/Models/main/ml/danamodel/1/MLmodel";

    const off = await call(DANA, "GET", file);
    assert.equal(off.status, 403);
    assert.equal(off.body.error_code, "PERMISSION_DENIED");
    const listing = await call(DANA, "GET", "/api/2.0/fs/directories/Models/main/ml/danamodel/1");
    assert.deepEqual(listing.body.contents, [
      {
        path: "/Models/main/ml/danamodel/1/MLmodel",
        is_directory: false,
        file_size: 11,
        last_modified: (listing.body.contents as { last_modified: number }[])[0]?.last_modified,
        name: "MLmodel",
      },
    ]);
    assert.equal((await call(DANA, "POST", "/api/2.0/fs/create-download-url", { path: "/Models/main/ml/danamodel/1/MLmodel" })).status, 200);

    emu.setUcModelArtifacts("sdk");
    try {
      const on = await call(DANA, "GET", file);
      assert.equal(on.status, 200);
      assert.equal(on.body.text, "flavors: {}");
      const late = await call(DANA, "PUT", file, undefined, "changed");
      assert.equal(late.status, 400, "a READY version's files are immutable");
      assert.equal((await call(ADMIN, "DELETE", file)).status, 403, "no one deletes version files through the Files API");
    } finally {
      emu.setUcModelArtifacts("presigned");
    }
    // Without USE CATALOG (and EXECUTE) the service principal reaches none of it.
    assert.deepEqual((await call(SP, "GET", "/api/2.0/fs/directories/Models/main/ml/danamodel/1")).body, {
      error_code: "PERMISSION_DENIED",
      message: "User does not have USE CATALOG on Catalog 'main'.",
    });
    assert.equal((await call(SP, "POST", "/api/2.0/fs/create-download-url", { path: "/Models/main/ml/danamodel/1/MLmodel" })).status, 403);
  });

  it("reaches experiment artifacts only with the experiment's permissions", async () => {
    const home = `/Users/${emu.servicePrincipal.applicationId}`;
    const exp = await call(SP, "POST", "/api/2.0/mlflow/experiments/create", { name: `${home}/private` });
    assert.equal(exp.status, 200, JSON.stringify(exp.body));
    const file = `/api/2.0/fs/files/WorkspaceInternal/Mlflow/Artifacts/${String(exp.body.experiment_id)}/Runs/r1/artifacts/a.txt`;
    assert.equal((await call(SP, "PUT", file, undefined, "mine")).status, 204);
    assert.equal((await call(SP, "GET", file)).body.text, "mine");
    const dana = await call(DANA, "GET", file);
    assert.equal(dana.status, 403);
    assert.equal(dana.body.error_code, "PERMISSION_DENIED");
    assert.equal((await call(DANA, "GET", "/api/2.0/fs/files/WorkspaceInternal/Mlflow/Artifacts/123/Runs/r/a")).status, 404);
  });
});
