// Workspace API 2.0 (mkdirs, get-status, list, delete) as databricks-sdk
// calls it (service/workspace.py WorkspaceAPI: mkdirs, get_status, list,
// delete). Experiments appear in listings as MLFLOW_EXPERIMENT objects whose
// object_id is the experiment id (databricks-sdk-py#19 and #509: the real API
// returns that type; the SDK maps it to None). The Permissions API for the
// same objects is in workspace-permissions.ts, mounted here.

import express, { type Router } from "express";
import { backingCall } from "./backing-client.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { answeringJson } from "./errors.js";
import type { ExperimentRef } from "./experiment-access.js";
import type { Principal } from "./principals.js";
import { workspacePermissionsRouter } from "./workspace-permissions.js";
import { type Folder, WorkspaceRefusal, normalizePath, parentOf } from "./workspace-tree.js";

type Json = Record<string, unknown>;

/** A request path, with a leading /Workspace dropped as the real API accepts both spellings. */
function workspacePath(raw: unknown): string {
  if (typeof raw !== "string" || raw === "") throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", "Missing required field: path");
  const path = normalizePath(raw);
  if (path === undefined) throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", `Path (${raw}) doesn't start with '/'`);
  return path === "/Workspace" ? "/" : path.replace(/^\/Workspace(?=\/)/, "");
}

function notFound(raw: string): WorkspaceRefusal {
  return new WorkspaceRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Path (${raw}) doesn't exist.`);
}

/** Active workspace experiments whose parent folder is `folder`. */
async function experimentsIn(ctx: EmulatorContext, folder: string): Promise<ExperimentRef[]> {
  const prefix = folder === "/" ? "/" : `${folder}/`;
  const out: ExperimentRef[] = [];
  let token: string | undefined;
  do {
    const page = await backingCall(ctx, "POST", "/api/2.0/mlflow/experiments/search", {
      body: { filter: `name LIKE '${prefix.replace(/'/g, "''")}%'`, max_results: 1000, page_token: token },
    });
    for (const e of (page.json.experiments as Json[] | undefined) ?? []) {
      const name = String(e.name);
      if (parentOf(name) === folder) out.push({ id: String(e.experiment_id), name, lifecycleStage: String(e.lifecycle_stage) });
    }
    token = typeof page.json.next_page_token === "string" && page.json.next_page_token ? page.json.next_page_token : undefined;
  } while (token !== undefined);
  return out;
}

/** object_id is a JSON number (int64); one JavaScript cannot write exactly is a bug here, not a rounding. */
function objectIdNumber(id: string): number {
  const n = Number(id);
  if (!Number.isSafeInteger(n)) throw new Error(`emulator: object id ${id} cannot be written exactly as a JSON number`);
  return n;
}

function folderInfo(folder: Folder): Json {
  return { object_type: "DIRECTORY", path: folder.path, object_id: objectIdNumber(folder.objectId), resource_id: folder.objectId };
}

function experimentInfo(exp: ExperimentRef): Json {
  return { object_type: "MLFLOW_EXPERIMENT", path: exp.name, object_id: objectIdNumber(exp.id), resource_id: exp.id };
}

async function mkdirs(ctx: EmulatorContext, p: Principal, body: Json): Promise<Json> {
  const path = workspacePath(body.path);
  // mkdirs refuses to run through a non-folder object at any prefix.
  const occupied = new Set<string>();
  for (let prefix = path; prefix !== "/"; prefix = parentOf(prefix)) {
    if (!ctx.workspace.folder(prefix) && (await ctx.experiments.byName(prefix))) occupied.add(prefix);
  }
  ctx.workspace.mkdirs(p, path, (candidate) => occupied.has(candidate));
  return {};
}

async function getStatus(ctx: EmulatorContext, raw: unknown): Promise<Json> {
  const path = workspacePath(raw);
  const folder = ctx.workspace.folder(path);
  if (folder) return folderInfo(folder);
  const exp = await ctx.experiments.byName(path);
  if (exp && exp.lifecycleStage === "active") return experimentInfo(exp);
  throw notFound(String(raw));
}

async function list(ctx: EmulatorContext, raw: unknown): Promise<Json> {
  const path = workspacePath(raw);
  const folder = ctx.workspace.folder(path);
  if (!folder) {
    // "Lists the contents of a directory, or the object if it is not a directory."
    return { objects: [await getStatus(ctx, raw)] };
  }
  const objects = [
    ...ctx.workspace.subfolders(path).map(folderInfo),
    ...(await experimentsIn(ctx, path)).filter((e) => e.lifecycleStage === "active").map(experimentInfo),
  ];
  // An empty folder is answered {} (databricks/cli acceptance record_cloud/workspace-file-io).
  return objects.length > 0 ? { objects } : {};
}

async function remove(ctx: EmulatorContext, p: Principal, body: Json): Promise<Json> {
  const path = workspacePath(body.path);
  const folder = ctx.workspace.folder(path);
  if (!folder) {
    const exp = await ctx.experiments.byName(path);
    if (!exp || exp.lifecycleStage !== "active") throw notFound(String(body.path));
    await ctx.experiments.require(p, exp.id, "CAN_MANAGE");
    await backingCall(ctx, "POST", "/api/2.0/mlflow/experiments/delete", { body: { experiment_id: exp.id } });
    return {};
  }
  const nested = [...ctx.workspace.subfolders(path), ...(await experimentsIn(ctx, path))];
  if (nested.length > 0 && body.recursive !== true) {
    throw new WorkspaceRefusal(400, "DIRECTORY_NOT_EMPTY", `Folder (${path}) is not empty`);
  }
  ctx.workspace.deleteFolder(p, path);
  // Experiments below the folder go with it (soft-deleted, as experiments/delete does).
  const below = await backingCall(ctx, "POST", "/api/2.0/mlflow/experiments/search", {
    body: { filter: `name LIKE '${`${path}/`.replace(/'/g, "''")}%'`, max_results: 1000 },
  });
  for (const e of (below.json.experiments as Json[] | undefined) ?? []) {
    await backingCall(ctx, "POST", "/api/2.0/mlflow/experiments/delete", { body: { experiment_id: String(e.experiment_id) } });
  }
  return {};
}

export function workspaceApiRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const json = express.json({ type: () => true });
  router.post(
    "/api/2.0/workspace/mkdirs",
    json,
    answeringJson((req, res) => mkdirs(ctx, callerOf(res), (req.body ?? {}) as Json)),
  );
  router.get(
    "/api/2.0/workspace/get-status",
    answeringJson((req) => getStatus(ctx, req.query.path)),
  );
  router.get(
    "/api/2.0/workspace/list",
    answeringJson((req) => list(ctx, req.query.path)),
  );
  router.post(
    "/api/2.0/workspace/delete",
    json,
    answeringJson((req, res) => remove(ctx, callerOf(res), (req.body ?? {}) as Json)),
  );
  router.use(workspacePermissionsRouter(ctx));
  return router;
}
