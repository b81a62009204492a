// Which workspace paths the Files API (/api/2.0/fs/...) reaches, and who may
// read or write them. Three roots exist; everything else is refused:
// - /Volumes/<catalog>/<schema>/<volume>/...: the documented one
//   (docs.databricks.com/aws/en/volumes/files-api/). Reading or listing needs
//   USE CATALOG + USE SCHEMA + READ VOLUME; creating, changing or deleting
//   files needs READ VOLUME and WRITE VOLUME (docs.databricks.com/volumes/privileges.html,
//   "Create, delete, or update files"). Catalog, schema and volume names are
//   case-insensitive, so the path is stored with them lower-cased.
// - /WorkspaceInternal/Mlflow/Artifacts/<experiment id>/...: where MLflow's
//   Databricks run and logged-model repositories keep artifacts
//   (mlflow/store/artifact/databricks_run_artifact_repo.py:18-30,
//   databricks_logged_model_artifact_repo.py:17-32); "Experiment permissions
//   automatically apply to artifacts" (docs.databricks.com/en/mlflow/experiments-acl.html):
//   CAN_READ to read, CAN_EDIT to write.
// - /Models/<catalog>/<schema>/<model>/<version>/...: UC model-version files.
//   Reading needs read access to the model, writing its ownership and a
//   version not yet READY. MLflow reaches them through the files endpoint only
//   when the registry reports the SDK models-artifact repository enabled
//   (_unity_catalog_utils.py:451-474; databricks_sdk_models_artifact_repo.py);
//   on DEFAULT_STORAGE it lists directories and asks for presigned URLs
//   (presigned_url_artifact_repo.py:65-140), which stay allowed either way.
//   Nothing in MLflow deletes or creates folders there, so that is refused.

import type { EmulatorContext } from "./context.js";
import type { Principal } from "./principals.js";
import { requireModel, ucModelName } from "./uc-model-access.js";
import { immutable, ucVersion } from "./uc-model-versions.js";
import { UcRefusal, invalid } from "./uc-privileges.js";
import { type SecurableRef, ucName } from "./uc-securables.js";

export type FileOp = "read" | "write";
/** files: /fs/files; directories: /fs/directories; signed-url: create-upload-url / create-download-url. */
export type FileEndpoint = "files" | "directories" | "signed-url";

export interface FileTarget {
  /** The path as stored (catalog, schema, volume and model names lower-cased). */
  path: string;
  /** The root of the volume, experiment folder or model version the path is in. */
  root: string;
}

function unsupported(path: string): UcRefusal {
  return invalid(`Path '${path}' is not supported by the Files API in this workspace: use /Volumes/<catalog>/<schema>/<volume>/<path>.`);
}

function notFound(what: string): UcRefusal {
  return new UcRefusal(404, "NOT_FOUND", `${what} does not exist.`);
}

function volumeTarget(ctx: EmulatorContext, p: Principal, segments: string[], op: FileOp): FileTarget {
  const parts = segments.slice(1, 4).map((s) => ucName(s, "path"));
  const uc = ctx.unityCatalog;
  const chain: SecurableRef[] = uc.store.resolve(parts);
  uc.requireTraverse(p, chain[0] as SecurableRef, chain[1]);
  uc.require(p, "READ_VOLUME", chain);
  if (op === "write") uc.require(p, "WRITE_VOLUME", chain);
  const root = `/Volumes/${parts.join("/")}`;
  return { root, path: [root, ...segments.slice(4)].join("/") };
}

async function experimentTarget(ctx: EmulatorContext, p: Principal, segments: string[], op: FileOp): Promise<FileTarget> {
  const id = segments[3] ?? "";
  await ctx.experiments.require(p, id, op === "read" ? "CAN_READ" : "CAN_EDIT");
  const root = `/WorkspaceInternal/Mlflow/Artifacts/${id}`;
  return { root, path: [root, ...segments.slice(4)].join("/") };
}

async function modelTarget(ctx: EmulatorContext, p: Principal, segments: string[], op: FileOp, path: string): Promise<FileTarget> {
  const name = ucModelName(segments.slice(1, 4).join("."));
  const version = segments[4] ?? "";
  if (!/^\d+$/.test(version)) throw unsupported(path);
  const model = await requireModel(ctx, p, name, op === "read" ? "read" : "owner", { allowMissing: true });
  if (!model) throw notFound(`Registered model '${name}'`);
  const got = await ucVersion(ctx, name, version);
  if (!got.mv) throw notFound(`Model version ${name}/${version}`);
  if (op === "write" && got.mv.status === "READY") throw immutable(name, version);
  const root = `/Models/${name.split(".").join("/")}/${version}`;
  return { root, path: [root, ...segments.slice(5)].join("/") };
}

/**
 * Resolves a normalised workspace path for an operation through one endpoint,
 * or throws the refusal (UcRefusal / WorkspaceRefusal) to answer.
 */
export async function authorizeFilePath(
  ctx: EmulatorContext,
  p: Principal,
  path: string,
  op: FileOp,
  endpoint: FileEndpoint,
  method: string,
): Promise<FileTarget> {
  const segments = path.split("/").filter(Boolean);
  const [root] = segments;
  if (root === "Volumes" && segments.length >= 4) return volumeTarget(ctx, p, segments, op);
  if (root === "WorkspaceInternal" && segments[1] === "Mlflow" && segments[2] === "Artifacts" && /^\d+$/.test(segments[3] ?? "")) {
    return experimentTarget(ctx, p, segments, op);
  }
  if (root === "Models" && segments.length >= 5) {
    if (endpoint === "files" && method === "DELETE")
      throw new UcRefusal(403, "PERMISSION_DENIED", `Model version files cannot be deleted through the Files API: ${path}`);
    if (endpoint === "files" && ctx.ucModelArtifacts !== "sdk") {
      throw new UcRefusal(
        403,
        "PERMISSION_DENIED",
        `Model version files are not reachable through /api/2.0/fs/files in this workspace (the Databricks SDK models-artifact repository is not enabled): ${path}`,
      );
    }
    if (endpoint === "directories" && op === "write")
      throw new UcRefusal(403, "PERMISSION_DENIED", `Folders of model versions cannot be created or deleted: ${path}`);
    return modelTarget(ctx, p, segments, op, path);
  }
  throw unsupported(path);
}
