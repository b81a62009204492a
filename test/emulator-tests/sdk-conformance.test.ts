// Conformance of the workspace emulator to clients nobody in this project
// wrote: the official databricks-sdk WorkspaceClient and MLflow's own
// Databricks client (MLFLOW_TRACKING_URI=databricks) run against it, and the
// answers must parse into their types and raise their typed exceptions as
// they would against a real workspace. Several calls share one Python process
// (each costs seconds); one process may hold clients for several users.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";
import { type PythonAuth, runMlflowPython } from "../emulator/python-client.js";

const ADMIN = "admin@example.com";
const ALICE = "alice@example.com";
const BOB = "bob@example.com";
const USERS = { ADMIN, ALICE, BOB } as const;
type Who = keyof typeof USERS | "SP";

let emu: WorkspaceEmulator;
const tokens: Record<string, string> = {};

type Result = Record<string, unknown>;

/**
 * `w` is the client of `who` (a user's OAuth token, or the service principal's client
 * secret); `client("BOB")` another user's; `err(fn)` returns None or
 * [exception class, error_code, message, [its SDK error base classes]]. The SDK
 * appends its configuration to 401/403 messages ("<message>. Config: ..."); `err`
 * cuts that off, so such messages end with a period whatever the server sent.
 */
const PRELUDE = `
import io, os
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
w = WorkspaceClient()
def client(who, token=None):
    return WorkspaceClient(host=os.environ["DATABRICKS_HOST"], token=token or os.environ["TOKEN_" + who], auth_type="pat")
def err(fn):
    try:
        fn()
        return None
    except DatabricksError as e:
        bases = [c.__name__ for c in type(e).__mro__[1:] if c.__module__.startswith("databricks.sdk.errors") and c is not DatabricksError]
        return [type(e).__name__, e.error_code, str(e).split(" Config: ")[0], bases]
def acl(perms):
    out = {}
    for a in perms.access_control_list:
        who = a.user_name or a.group_name or a.service_principal_name
        out[who] = sorted([p.permission_level.value, bool(p.inherited)] for p in a.all_permissions)
    return out
`;

/** A raw REST call as one of the users (for the few checks no official client makes on its own). */
async function api(who: keyof typeof USERS, method: string, path: string, body?: unknown): Promise<{ status: number; body: Result }> {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[who] ?? ""}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Result };
}

async function python(who: Who, script: string, env: Record<string, string> = {}): Promise<Result> {
  const auth: PythonAuth = who === "SP" ? { kind: "service-principal" } : { kind: "token", token: tokens[who] ?? "" };
  const userTokens = Object.fromEntries(Object.entries(tokens).map(([k, v]) => [`TOKEN_${k}`, v]));
  const { result } = await runMlflowPython(emu, PRELUDE + script, { auth, env: { ...userTokens, ...env } });
  return result as Result;
}

before(async () => {
  emu = await startWorkspaceEmulator({
    users: [
      { userName: ADMIN, groups: ["admins"] },
      { userName: ALICE, groups: ["users"] },
      { userName: BOB, groups: ["users"] },
    ],
  });
  for (const [key, userName] of Object.entries(USERS)) tokens[key] = await emu.mintUserToken({ userName });
});

after(async () => {
  await emu?.stop();
});

describe("Workspace API and directory permissions (databricks-sdk)", () => {
  it("mkdirs, get_status, list and delete folders; maps refusals to the SDK's typed exceptions", async () => {
    const r = await python(
      "ALICE",
      `
from databricks.sdk.service.workspace import WorkspaceObjectAccessControlRequest as Ace, WorkspaceObjectPermissionLevel as Level
me = w.current_user.me()
home = f"/Users/{me.user_name}"
w.workspace.mkdirs(f"{home}/conformance/nested")
w.workspace.mkdirs(f"{home}/conformance/nested")
st = w.workspace.get_status(f"{home}/conformance")
dir_id = str(st.object_id)
exp_id = w.experiments.create_experiment(name=f"{home}/conformance/exp").experiment_id
before = acl(w.workspace.get_permissions("directories", dir_id))
updated = acl(w.workspace.update_permissions("directories", dir_id, access_control_list=[Ace(user_name="${BOB}", permission_level=Level.CAN_READ)]))
replaced = w.workspace.set_permissions("directories", dir_id, access_control_list=[Ace(group_name="users", permission_level=Level.CAN_RUN)])
levels = [l.permission_level.value for l in w.workspace.get_permission_levels("directories", dir_id).permission_levels]
bob = client("BOB")
emit({
  "me": [me.user_name, me.active, [g.display for g in me.groups]],
  "status": [st.object_type.value, st.path, len(str(st.object_id))],
  "listed": sorted((o.path, o.object_type.value if o.object_type else None, o.object_id == int(exp_id) or None) for o in w.workspace.list(f"{home}/conformance")),
  "empty": list(w.workspace.list(f"{home}/conformance/nested")),
  "before": before, "updated": updated,
  "replaced": [replaced.object_id == f"/directories/{dir_id}", replaced.object_type, acl(replaced)],
  "levels": levels,
  "missing": err(lambda: w.workspace.get_status(f"{home}/nope")),
  "relative": err(lambda: w.workspace.mkdirs("relative/path")),
  "protected": err(lambda: w.workspace.mkdirs("/Users/someone-new")),
  "over_experiment": err(lambda: w.workspace.mkdirs(f"{home}/conformance/exp/sub")),
  "not_empty": err(lambda: w.workspace.delete(f"{home}/conformance")),
  "other_home": err(lambda: w.workspace.mkdirs("/Users/${BOB}/intruder")),
  "bob_mkdir": err(lambda: bob.workspace.mkdirs(f"{home}/conformance/by-bob")),
  "bob_permissions": err(lambda: bob.workspace.get_permissions("directories", dir_id)),
  "bob_lists": sorted(o.path for o in bob.workspace.list(f"{home}/conformance")),
  "deleted": [w.workspace.delete(f"{home}/conformance", recursive=True), err(lambda: w.workspace.get_status(f"{home}/conformance"))[0]],
  "experiment_gone": w.experiments.get_experiment(exp_id).experiment.lifecycle_stage,
})
`,
    );
    const home = `/Users/${ALICE}`;
    assert.deepEqual(r.me, [ALICE, true, ["users"]]);
    assert.equal((r.status as unknown[])[0], "DIRECTORY");
    assert.equal((r.status as unknown[])[1], `${home}/conformance`);
    assert.ok([15, 16].includes((r.status as number[])[2] ?? 0), "folders have 15-16 digit node ids");
    // The SDK's ObjectType enum has no MLFLOW_EXPERIMENT: it reads the real answer as None (databricks-sdk-py#509).
    assert.deepEqual(r.listed, [
      [`${home}/conformance/exp`, null, true],
      [`${home}/conformance/nested`, "DIRECTORY", null],
    ]);
    assert.deepEqual(r.empty, []);
    // The creator's direct CAN_MANAGE and the one inherited from the home folder.
    const creator = [
      ["CAN_MANAGE", false],
      ["CAN_MANAGE", true],
    ];
    assert.deepEqual(r.before, { [ALICE]: creator, admins: [["CAN_MANAGE", true]] });
    assert.deepEqual(r.updated, { [ALICE]: creator, [BOB]: [["CAN_READ", false]], admins: [["CAN_MANAGE", true]] });
    // PUT replaces the direct grants; the creator keeps CAN_MANAGE inherited from the home folder.
    assert.deepEqual(r.replaced, [
      true,
      "directory",
      { users: [["CAN_RUN", false]], [ALICE]: [["CAN_MANAGE", true]], admins: [["CAN_MANAGE", true]] },
    ]);
    assert.deepEqual(r.levels, ["CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE"]);
    assert.deepEqual(r.missing, ["ResourceDoesNotExist", "RESOURCE_DOES_NOT_EXIST", `Path (${home}/nope) doesn't exist.`, ["NotFound"]]);
    assert.deepEqual(r.relative, ["InvalidParameterValue", "INVALID_PARAMETER_VALUE", "Path (relative/path) doesn't start with '/'", ["BadRequest"]]);
    assert.deepEqual(r.protected, ["BadRequest", "DIRECTORY_PROTECTED", "Folder Users is protected", []]);
    assert.deepEqual(r.over_experiment, [
      "ResourceAlreadyExists",
      "RESOURCE_ALREADY_EXISTS",
      `${home}/conformance/exp already exists and it is not a folder`,
      ["ResourceConflict"],
    ]);
    assert.deepEqual(r.not_empty, ["BadRequest", "DIRECTORY_NOT_EMPTY", `Folder (${home}/conformance) is not empty`, []]);
    for (const key of ["other_home", "bob_mkdir", "bob_permissions"]) {
      const refused = r[key] as unknown[];
      assert.deepEqual(refused.slice(0, 2), ["PermissionDenied", "PERMISSION_DENIED"], key);
      assert.match(String(refused[2]), /^User \S+ does not have Manage permissions on /, key);
    }
    assert.deepEqual(r.bob_lists, [`${home}/conformance/exp`, `${home}/conformance/nested`], "anyone may list a folder");
    assert.deepEqual(r.deleted, [null, "ResourceDoesNotExist"]);
    assert.equal(r.experiment_gone, "deleted", "a recursive delete takes the experiments inside along");
  });
});

describe("Experiments API and experiment permissions (databricks-sdk)", () => {
  it("creates, reads, searches, renames, shares and deletes an experiment as a workspace object", async () => {
    const r = await python(
      "ALICE",
      `
from databricks.sdk.service.ml import ExperimentAccessControlRequest as Ace, ExperimentPermissionLevel as Level, ViewType
home = "/Users/${ALICE}"
exp_id = w.experiments.create_experiment(name=f"{home}/churn").experiment_id
got = w.experiments.get_experiment(exp_id).experiment
by_name = w.experiments.get_by_name(f"{home}/churn").experiment
node = w.workspace.get_status(f"{home}/churn")
raw = w.api_client.do("GET", "/api/2.0/workspace/list", query={"path": home})
searched = [e.name for e in w.experiments.search_experiments()]
w.experiments.update_experiment(exp_id, new_name=f"{home}/churn-v2")
renamed = w.experiments.get_experiment(exp_id).experiment
before = acl(w.experiments.get_permissions(exp_id))
shared = w.experiments.set_permissions(exp_id, access_control_list=[Ace(user_name="${BOB}", permission_level=Level.CAN_READ)])
bob = client("BOB")
result = {
  "id_digits": len(exp_id),
  "got": [got.experiment_id, got.name, got.lifecycle_stage, got.artifact_location, {t.key: t.value for t in got.tags}],
  "by_name": by_name.experiment_id,
  "node": [node.object_type, node.object_id == int(exp_id)],
  "raw_type": [o["object_type"] for o in raw["objects"] if o["path"] == f"{home}/churn"],
  "searched": searched,
  "renamed": [renamed.name, {t.key: t.value for t in renamed.tags}.get("mlflow.experiment.sourceName")],
  "old_name": err(lambda: w.experiments.get_by_name(f"{home}/churn")),
  "before": before,
  "shared": [shared.object_id, shared.object_type, acl(shared)],
  "levels": [l.permission_level.value for l in w.experiments.get_permission_levels(exp_id).permission_levels],
  "bob_reads": bob.experiments.get_experiment(exp_id).experiment.name,
  "bob_searches": [e.name for e in bob.experiments.search_experiments()],
  "bob_renames": err(lambda: bob.experiments.update_experiment(exp_id, new_name="/Users/${BOB}/mine")),
  "bob_deletes": err(lambda: bob.experiments.delete_experiment(exp_id)),
  "not_absolute": err(lambda: w.experiments.create_experiment(name="churn-model")),
  "duplicate": err(lambda: w.experiments.create_experiment(name=f"{home}/churn-v2")),
  "no_parent": err(lambda: w.experiments.create_experiment(name=f"{home}/missing/x")),
  "other_home": err(lambda: w.experiments.create_experiment(name="/Users/${BOB}/x")),
  "missing_name": err(lambda: w.experiments.get_by_name(f"{home}/nope")),
  "missing_id": err(lambda: w.experiments.get_experiment("123456789012345")),
  "default": err(lambda: w.experiments.get_experiment("0")),
}
w.experiments.delete_experiment(exp_id)
result["deleted"] = w.experiments.get_experiment(exp_id).experiment.lifecycle_stage
result["active_after"] = [e.name for e in w.experiments.search_experiments()]
result["all_after"] = [e.name for e in w.experiments.search_experiments(view_type=ViewType.ALL)]
emit(result)
`,
    );
    const home = `/Users/${ALICE}`;
    const [id, name, stage, location, tags] = r.got as [string, string, string, string, Record<string, string>];
    assert.ok([15, 16].includes(Number(r.id_digits)), "experiment ids are 15-16 digit node ids");
    assert.deepEqual([name, stage, location], [`${home}/churn`, "active", `dbfs:/databricks/mlflow-tracking/${id}`]);
    assert.equal(tags["mlflow.ownerEmail"], ALICE);
    assert.equal(tags["mlflow.experimentType"], "MLFLOW_EXPERIMENT");
    assert.equal(tags["mlflow.experiment.sourceName"], `${home}/churn`);
    assert.equal(r.by_name, id);
    assert.deepEqual(r.node, [null, true], "the node id is the experiment id; the SDK has no enum value for the type");
    assert.deepEqual(r.raw_type, ["MLFLOW_EXPERIMENT"]);
    assert.deepEqual(r.searched, [`${home}/churn`]);
    assert.deepEqual(r.renamed, [`${home}/churn-v2`, `${home}/churn-v2`]);
    assert.equal((r.old_name as string[])[0], "ResourceDoesNotExist");
    assert.deepEqual(r.before, { [ALICE]: [["CAN_MANAGE", true]], admins: [["CAN_MANAGE", true]] });
    assert.deepEqual(r.shared, [
      `/experiments/${id}`,
      "mlflowExperiment",
      { [BOB]: [["CAN_READ", false]], [ALICE]: [["CAN_MANAGE", true]], admins: [["CAN_MANAGE", true]] },
    ]);
    assert.deepEqual(r.levels, ["CAN_READ", "CAN_EDIT", "CAN_MANAGE"]);
    assert.equal(r.bob_reads, `${home}/churn-v2`);
    assert.deepEqual(r.bob_searches, [`${home}/churn-v2`]);
    for (const key of ["bob_renames", "bob_deletes"]) {
      assert.deepEqual(r[key], [
        "PermissionDenied",
        "PERMISSION_DENIED",
        // The SDK ends 401/403 messages with a period before its config dump.
        `User ${BOB} does not have permission to 'Manage' experiment with id ${id}.`,
        [],
      ]);
    }
    assert.deepEqual(r.not_absolute, [
      "InvalidParameterValue",
      "INVALID_PARAMETER_VALUE",
      "Got an invalid experiment name 'churn-model'. An experiment name must be an absolute path within the Databricks workspace, e.g. '/Users/<some-username>/my-experiment'.",
      ["BadRequest"],
    ]);
    assert.deepEqual(r.duplicate, [
      "ResourceAlreadyExists",
      "RESOURCE_ALREADY_EXISTS",
      `Node named ${home}/churn-v2 already exists`,
      ["ResourceConflict"],
    ]);
    assert.deepEqual(r.no_parent, [
      "ResourceDoesNotExist",
      "RESOURCE_DOES_NOT_EXIST",
      `Parent directory ${home}/missing does not exist.`,
      ["NotFound"],
    ]);
    assert.deepEqual((r.other_home as unknown[]).slice(0, 2), ["PermissionDenied", "PERMISSION_DENIED"]);
    assert.deepEqual(r.missing_name, ["ResourceDoesNotExist", "RESOURCE_DOES_NOT_EXIST", `Node ${home}/nope does not exist.`, ["NotFound"]]);
    assert.deepEqual(r.missing_id, ["ResourceDoesNotExist", "RESOURCE_DOES_NOT_EXIST", "Node ID 123456789012345 does not exist.", ["NotFound"]]);
    assert.deepEqual(r.default, ["ResourceDoesNotExist", "RESOURCE_DOES_NOT_EXIST", "Node ID 0 does not exist.", ["NotFound"]]);
    assert.equal(r.deleted, "deleted", "delete marks the experiment deleted; get still reads it");
    assert.deepEqual(r.active_after, []);
    assert.ok((r.all_after as string[]).includes(`${home}/churn-v2`), "view_type ALL lists deleted experiments too");
  });
});

describe("experiment permissions on artifacts", () => {
  it("hands out artifact credentials only to readers (read) and editors (write) of the run's experiment", async () => {
    const exp = await api("ALICE", "POST", "/api/2.0/mlflow/experiments/create", { name: `/Users/${ALICE}/artifacts` });
    const id = String(exp.body.experiment_id);
    const run = await api("ALICE", "POST", "/api/2.0/mlflow/runs/create", { experiment_id: id });
    const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
    const credentials = (who: keyof typeof USERS, kind: "read" | "write"): Promise<{ status: number; body: Result }> =>
      api(who, "POST", `/api/2.0/mlflow/artifacts/credentials-for-${kind}`, { run_id: runId, path: ["model/MLmodel"] });

    assert.equal((await credentials("ALICE", "write")).status, 200);
    assert.deepEqual((await credentials("BOB", "read")).body, {
      error_code: "PERMISSION_DENIED",
      message: `User ${BOB} does not have permission to 'View' experiment with id ${id}`,
    });
    const shared = await api("ALICE", "PATCH", `/api/2.0/permissions/experiments/${id}`, {
      access_control_list: [{ user_name: BOB, permission_level: "CAN_READ" }],
    });
    assert.equal(shared.status, 200);
    assert.equal((await credentials("BOB", "read")).status, 200);
    assert.deepEqual((await credentials("BOB", "write")).body, {
      error_code: "PERMISSION_DENIED",
      message: `User ${BOB} does not have permission to 'Edit' experiment with id ${id}`,
    });
    const listed = await api("BOB", "GET", `/api/2.0/mlflow/artifacts/list?run_id=${runId}`);
    assert.equal(listed.status, 200);
  });
});

describe("Unity Catalog, Files API and registered models (databricks-sdk)", () => {
  it("creates securables, grants, moves volume files and reads models through the 2.1 API with EXECUTE", async () => {
    const r = await python(
      "ADMIN",
      `
from databricks.sdk.service.catalog import PermissionsChange as Change, Privilege, VolumeType
UC = "/api/2.0/mlflow/unity-catalog"
before = [c.name for c in w.catalogs.list()]
cat = w.catalogs.create(name="Conformance", comment="sdk")
sch = w.schemas.create(name="ML", catalog_name="conformance")
vol = w.volumes.create(catalog_name="conformance", schema_name="ml", name="Files", volume_type=VolumeType.MANAGED)
w.grants.update("catalog", "conformance", changes=[Change(principal="${ALICE}", add=[Privilege.USE_CATALOG])])
w.grants.update("SCHEMA", "conformance.ml", changes=[Change(principal="${ALICE}", add=[Privilege.USE_SCHEMA])])
root = "/Volumes/conformance/ml/files"
w.files.create_directory(f"{root}/in")
w.files.upload(f"{root}/in/a.csv", io.BytesIO(b"a,b\\n1,2\\n"))
meta = w.files.get_metadata(f"{root}/in/a.csv")
alice = client("ALICE")
result = {
  "before": before,
  "cat": [cat.name, cat.owner, cat.securable_type.value, w.catalogs.get("CONFORMANCE").full_name],
  "schemas": sorted(s.name for s in w.schemas.list(catalog_name="conformance")),
  "schema": [sch.full_name, w.schemas.get("conformance.ml").owner],
  "volumes": [(v.full_name, v.volume_type.value) for v in w.volumes.list(catalog_name="conformance", schema_name="ml")],
  "volume": w.volumes.read("conformance.ml.files").full_name,
  "grants": [(a.principal, [p.value for p in a.privileges]) for a in w.grants.get("schema", "conformance.ml").privilege_assignments],
  "download": w.files.download(f"{root}/in/a.csv").contents.read().decode(),
  "meta": [meta.content_length, meta.content_type, meta.last_modified is not None],
  "dir_meta": w.files.get_directory_metadata(f"{root}/in") is None,
  "listed": [(e.path, e.name, e.is_directory, e.file_size) for e in w.files.list_directory_contents(f"{root}/in")],
  "no_overwrite": err(lambda: w.files.upload(f"{root}/in/a.csv", io.BytesIO(b"x"), overwrite=False)),
  "dir_not_empty": err(lambda: w.files.delete_directory(f"{root}/in")),
  "alice_reads_volume": err(lambda: alice.files.download(f"{root}/in/a.csv").contents.read()),
}
w.files.delete(f"{root}/in/a.csv")
result["file_gone"] = err(lambda: w.files.get_metadata(f"{root}/in/a.csv"))
w.files.delete_directory(f"{root}/in")
result["root_after"] = list(w.files.list_directory_contents(root))

churn = w.registered_models.create(catalog_name="Conformance", schema_name="ML", name="Churn", comment="propensity")
w.registered_models.create(catalog_name="conformance", schema_name="ml", name="Secret")
for _ in range(2):
    v = w.api_client.do("POST", f"{UC}/model-versions/create", body={"name": "conformance.ml.churn", "source": "dbfs:/databricks/mlflow-tracking/1/r/artifacts/model", "run_id": None})["model_version"]
    w.api_client.do("POST", f"{UC}/model-versions/finalize", body={"name": "conformance.ml.churn", "version": v["version"]})
w.api_client.do("POST", f"{UC}/registered-models/alias", body={"name": "conformance.ml.churn", "alias": "champion", "version": "2"})
w.grants.update("function", "conformance.ml.churn", changes=[Change(principal="${ALICE}", add=[Privilege.EXECUTE])])
got = w.registered_models.get("Conformance.ML.Churn", include_aliases=True)
v1 = w.model_versions.get("conformance.ml.churn", 1)
result.update({
  "created": [churn.full_name, churn.name, churn.catalog_name, churn.schema_name, churn.owner, churn.comment],
  "duplicate": err(lambda: w.registered_models.create(catalog_name="conformance", schema_name="ml", name="CHURN")),
  "got": [got.full_name, got.owner, got.created_by, got.metastore_id == cat.metastore_id, got.storage_location,
          [(a.alias_name, a.version_num) for a in got.aliases], got.created_at > 0],
  "plain_get": sorted(w.api_client.do("GET", "/api/2.1/unity-catalog/models/conformance.ml.churn")),
  "in_schema": sorted(m.full_name for m in w.registered_models.list(catalog_name="conformance", schema_name="ml")),
  "everywhere": sorted(m.full_name for m in w.registered_models.list()),
  "versions": [(v.version, v.status.value) for v in w.model_versions.list("conformance.ml.churn")],
  "version_fields": sorted({k for v in w.api_client.do("GET", "/api/2.1/unity-catalog/models/conformance.ml.churn/versions")["model_versions"] for k in v}),
  "v1": [v1.catalog_name, v1.schema_name, v1.model_name, v1.version, v1.status.value, v1.created_by, v1.storage_location, v1.source],
  "by_alias": [w.model_versions.get_by_alias("conformance.ml.churn", "champion", include_aliases=True).version,
               [a.alias_name for a in w.model_versions.get_by_alias("conformance.ml.churn", "champion", include_aliases=True).aliases]],
  "missing_model": err(lambda: w.registered_models.get("conformance.ml.nope")),
  "missing_version": err(lambda: w.model_versions.get("conformance.ml.churn", 9)),
  "missing_schema": err(lambda: list(w.registered_models.list(catalog_name="conformance", schema_name="nope"))),
  "alice_in_schema": sorted(m.full_name for m in alice.registered_models.list(catalog_name="conformance", schema_name="ml")),
  "alice_everywhere": sorted(m.full_name for m in alice.registered_models.list()),
  "alice_versions": [v.version for v in alice.model_versions.list("conformance.ml.churn")],
  "alice_secret": err(lambda: alice.registered_models.get("conformance.ml.secret")),
  "alice_secret_versions": err(lambda: list(alice.model_versions.list("conformance.ml.secret"))),
  "alice_deletes": err(lambda: alice.registered_models.delete("conformance.ml.churn")),
  "bob_lists": err(lambda: list(client("BOB").registered_models.list(catalog_name="conformance", schema_name="ml"))),
})
w.model_versions.delete("conformance.ml.churn", 1)
result["after_version_delete"] = [v.version for v in w.model_versions.list("conformance.ml.churn")]
w.registered_models.delete("conformance.ml.secret")
result["after_model_delete"] = sorted(m.full_name for m in w.registered_models.list())
w.volumes.delete("conformance.ml.files")
result["volumes_after"] = list(w.volumes.list(catalog_name="conformance", schema_name="ml"))
result["schema_not_empty"] = err(lambda: w.schemas.delete("conformance.ml"))
w.schemas.delete("conformance.ml", force=True)
result["models_after_schema"] = list(w.registered_models.list())
result["catalog_not_empty"] = err(lambda: w.catalogs.delete("conformance"))
w.catalogs.delete("conformance", force=True)
result["after"] = [c.name for c in w.catalogs.list()]
emit(result)
`,
    );
    assert.deepEqual(r.before, [], "the metastore starts empty");
    assert.deepEqual(r.cat, ["conformance", ADMIN, "CATALOG", "conformance"]);
    assert.deepEqual(r.schemas, ["default", "information_schema", "ml"]);
    assert.deepEqual(r.schema, ["conformance.ml", ADMIN]);
    assert.deepEqual(r.volumes, [["conformance.ml.files", "MANAGED"]]);
    assert.equal(r.volume, "conformance.ml.files");
    assert.deepEqual(r.grants, [[ALICE, ["USE_SCHEMA"]]]);
    assert.equal(r.download, "a,b\n1,2\n");
    assert.deepEqual(r.meta, [8, "application/octet-stream", true]);
    assert.equal(r.dir_meta, true);
    assert.deepEqual(r.listed, [["/Volumes/conformance/ml/files/in/a.csv", "a.csv", false, 8]]);
    assert.deepEqual(r.no_overwrite, ["AlreadyExists", "ALREADY_EXISTS", "The file being created already exists.", ["ResourceConflict"]]);
    assert.deepEqual(r.dir_not_empty, [
      "InvalidParameterValue",
      "INVALID_PARAMETER_VALUE",
      "The directory being deleted is not empty.",
      ["BadRequest"],
    ]);
    assert.deepEqual(r.alice_reads_volume, [
      "PermissionDenied",
      "PERMISSION_DENIED",
      "User does not have READ VOLUME on Volume 'conformance.ml.files'.",
      [],
    ]);
    // A HEAD answer has no body: the SDK names the error after the status line.
    assert.deepEqual(r.file_gone, ["NotFound", null, "Not Found", []]);
    assert.deepEqual(r.root_after, []);

    const ws = emu.workspaceId;
    assert.deepEqual(r.created, ["conformance.ml.churn", "churn", "conformance", "ml", ADMIN, "propensity"]);
    assert.deepEqual(r.duplicate, [
      "ResourceAlreadyExists",
      "RESOURCE_ALREADY_EXISTS",
      "Routine or Model 'churn' already exists",
      ["ResourceConflict"],
    ]);
    assert.deepEqual(r.got, [
      "conformance.ml.churn",
      ADMIN,
      ADMIN,
      true,
      `s3://databricks-workspace-emulator/${ws}/Models/conformance/ml/churn`,
      [["champion", 2]],
      true,
    ]);
    // Aliases only when include_aliases asks; unset fields are left out, as proto3 JSON does.
    assert.deepEqual(r.plain_get, [
      "catalog_name",
      "comment",
      "created_at",
      "created_by",
      "full_name",
      "metastore_id",
      "name",
      "owner",
      "schema_name",
      "storage_location",
      "updated_at",
      "updated_by",
    ]);
    assert.deepEqual(r.in_schema, ["conformance.ml.churn", "conformance.ml.secret"]);
    assert.deepEqual(r.everywhere, ["conformance.ml.churn", "conformance.ml.secret"]);
    assert.deepEqual(r.versions, [
      [1, "READY"],
      [2, "READY"],
    ]);
    // "The elements in the response will not contain any aliases or tags" (ModelVersionsAPI.list).
    assert.deepEqual(r.version_fields, [
      "catalog_name",
      "created_at",
      "created_by",
      "metastore_id",
      "model_name",
      "schema_name",
      "source",
      "status",
      "storage_location",
      "updated_at",
      "updated_by",
      "version",
    ]);
    assert.deepEqual(r.v1, [
      "conformance",
      "ml",
      "churn",
      1,
      "READY",
      ADMIN,
      `s3://databricks-workspace-emulator/${ws}/Models/conformance/ml/churn/1`,
      "dbfs:/databricks/mlflow-tracking/1/r/artifacts/model",
    ]);
    assert.deepEqual(r.by_alias, [2, ["champion"]]);
    assert.deepEqual(r.missing_model, [
      "ResourceDoesNotExist",
      "RESOURCE_DOES_NOT_EXIST",
      "Routine or Model 'conformance.ml.nope' does not exist.",
      ["NotFound"],
    ]);
    assert.deepEqual((r.missing_version as unknown[]).slice(0, 2), ["ResourceDoesNotExist", "RESOURCE_DOES_NOT_EXIST"]);
    assert.deepEqual(r.missing_schema, ["NotFound", "SCHEMA_DOES_NOT_EXIST", "Schema 'conformance.nope' does not exist.", []]);
    // Alice has USE CATALOG / USE SCHEMA and EXECUTE on churn only.
    assert.deepEqual(r.alice_in_schema, ["conformance.ml.churn"]);
    assert.deepEqual(r.alice_everywhere, ["conformance.ml.churn"]);
    assert.deepEqual(r.alice_versions, [1, 2]);
    for (const key of ["alice_secret", "alice_secret_versions"]) {
      assert.deepEqual(r[key], [
        "PermissionDenied",
        "PERMISSION_DENIED",
        "User does not have EXECUTE on Registered Model 'conformance.ml.secret'.",
        [],
      ]);
    }
    assert.deepEqual(r.alice_deletes, [
      "PermissionDenied",
      "PERMISSION_DENIED",
      "User is not an owner of Registered Model 'conformance.ml.churn'.",
      [],
    ]);
    assert.deepEqual(r.bob_lists, ["PermissionDenied", "PERMISSION_DENIED", "User does not have USE CATALOG on Catalog 'conformance'.", []]);
    assert.deepEqual(r.after_version_delete, [2]);
    assert.deepEqual(r.after_model_delete, ["conformance.ml.churn"]);
    assert.deepEqual(r.volumes_after, []);
    assert.deepEqual((r.schema_not_empty as unknown[]).slice(0, 2), ["BadRequest", "SCHEMA_NOT_EMPTY"], "a registered model is content");
    assert.deepEqual(r.models_after_schema, [], "force takes the models along");
    // Its `default` schema is content too (terraform-provider-databricks drops it after creating a catalog).
    assert.deepEqual((r.catalog_not_empty as unknown[]).slice(0, 2), ["BadRequest", "CATALOG_NOT_EMPTY"]);
    assert.deepEqual(r.after, []);
  });
});

describe("MLflow's Databricks client", () => {
  it("needs absolute experiment paths, keeps to the caller's folders, searches traces through v4 and never shows a Default", async () => {
    emu.clearCalls();
    const r = await python(
      "SP",
      `
import mlflow
from mlflow.exceptions import MlflowException
me = w.current_user.me()
def mlerr(fn):
    try:
        fn()
        return None
    except MlflowException as e:
        return [e.error_code, e.message]
exp = mlflow.set_experiment(f"/Users/{me.user_name}/x")
@mlflow.trace
def double(x):
    return x * 2
double(3)
double(4)
mlflow.flush_trace_async_logging()
traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list")
emit({
  "me": [me.user_name, me.display_name, me.active],
  "relative": mlerr(lambda: mlflow.set_experiment("churn-model")),
  "experiment": [exp.experiment_id, exp.name],
  "other_home": mlerr(lambda: mlflow.set_experiment("/Users/${ALICE}/intruder")),
  "default": mlerr(lambda: mlflow.get_experiment("0")),
  "traces": sorted(t.info.request_preview for t in traces),
  "trace_experiments": sorted({t.info.experiment_id for t in traces}),
  "experiments": [(e.experiment_id, e.name) for e in mlflow.search_experiments()],
})
`,
    );
    const sp = emu.servicePrincipal.applicationId;
    assert.deepEqual(r.me, [sp, emu.servicePrincipal.displayName, true]);
    assert.deepEqual(r.relative, [
      "INVALID_PARAMETER_VALUE",
      "INVALID_PARAMETER_VALUE: Got an invalid experiment name 'churn-model'. An experiment name must be an absolute path within the Databricks workspace, e.g. '/Users/<some-username>/my-experiment'.",
    ]);
    const [id, name] = r.experiment as [string, string];
    assert.match(id, /^\d{15,16}$/);
    assert.equal(name, `/Users/${sp}/x`);
    assert.equal((r.other_home as string[])[0], "PERMISSION_DENIED");
    assert.match(
      (r.other_home as string[])[1] ?? "",
      new RegExp(`^PERMISSION_DENIED: Service principal ${sp} does not have Manage permissions on /Users/${ALICE}\\.`),
    );
    assert.deepEqual(r.default, ["RESOURCE_DOES_NOT_EXIST", "RESOURCE_DOES_NOT_EXIST: Node ID 0 does not exist."]);
    assert.deepEqual(r.traces, ['{"x": 3}', '{"x": 4}']);
    assert.deepEqual(r.trace_experiments, [id]);
    assert.deepEqual(r.experiments, [[id, name]], "only the caller's readable workspace experiments; no Default, no id 0");

    const paths = emu.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
    assert.ok(paths.includes("POST /api/4.0/mlflow/traces/search-long-running 200"), paths.join("\n"));
    assert.ok(
      paths.some((p) => /^GET \/api\/4\.0\/mlflow\/traces\/search\/operations\/[\w-]+ 200$/.test(p)),
      "MLflow polls the long-running operation",
    );
    assert.ok(!paths.some((p) => p.includes("/api/3.0/mlflow/traces/search")), "no v3 fallback search");
  });
});

describe("throttling and refused tokens", () => {
  it("the SDK retries a 429 without Retry-After; an expired token is PermissionDenied (HTML 403)", async () => {
    const expired = await emu.mintUserToken({ userName: ALICE, expired: true });
    const create = await fetch(`${emu.url}/api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.ALICE ?? ""}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `/Users/${ALICE}/throttled` }),
    });
    const created = (await create.json()) as { experiment_id: string };
    emu.clearCalls();
    emu.faults.set({ rateLimit: { count: 2, pathPrefix: "/api/2.0/mlflow/experiments/get" } });
    try {
      const r = await python(
        "ALICE",
        `emit({"name": w.experiments.get_experiment("${created.experiment_id}").experiment.name,
  "expired": err(lambda: client(None, os.environ["EXPIRED"]).current_user.me())})`,
        { EXPIRED: expired },
      );
      assert.equal(r.name, `/Users/${ALICE}/throttled`);
      assert.deepEqual(r.expired, ["PermissionDenied", "FORBIDDEN", "    Invalid access token.", []]);
    } finally {
      emu.faults.clear();
    }
    const gets = emu.calls.filter((c) => c.path === "/api/2.0/mlflow/experiments/get").map((c) => c.status);
    assert.deepEqual(gets, [429, 429, 200]);
  });

  it("MLflow retries a 429 too; with the json-401 refusal shape the SDK raises Unauthenticated", async () => {
    const expired = await emu.mintUserToken({ userName: ALICE, expired: true });
    emu.clearCalls();
    emu.faults.set({ rateLimit: { count: 2, pathPrefix: "/api/2.0/mlflow/experiments/get" }, tokenRefusal: "json-401" });
    try {
      const r = await python(
        "SP",
        `
import mlflow
exp = mlflow.set_experiment(f"/Users/{w.current_user.me().user_name}/throttled")
emit({"name": mlflow.get_experiment(exp.experiment_id).name,
  "expired": err(lambda: client(None, os.environ["EXPIRED"]).current_user.me())})`,
        { EXPIRED: expired },
      );
      assert.equal(r.name, `/Users/${emu.servicePrincipal.applicationId}/throttled`);
      assert.deepEqual(r.expired, ["Unauthenticated", "UNAUTHENTICATED", "Token is expired.", []]);
    } finally {
      emu.faults.clear();
    }
    const throttled = emu.calls.filter((c) => c.path.startsWith("/api/2.0/mlflow/experiments/get") && c.status === 429);
    assert.equal(throttled.length, 2);
    assert.ok(emu.calls.some((c) => c.path === "/api/2.0/mlflow/experiments/get" && c.status === 200));
  });
});
