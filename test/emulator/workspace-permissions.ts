// The Permissions API for workspace folders and experiments, as databricks-sdk
// calls it (service/workspace.py WorkspaceAPI get/set/update_permissions and
// get_permission_levels with object type "directories"; service/ml.py
// ExperimentsAPI the same for "experiments"). Folder ids are workspace node
// ids, experiment ids are too; grants live in workspace-tree.ts.
// Shapes: {object_id: "/directories/<id>" | "/experiments/<id>", object_type:
// "directory" | "mlflowExperiment", access_control_list} with inherited
// entries marked (terraform-provider-databricks permissions/permission_definitions.go
// and exporter fixtures; docs.databricks.com/api/gcp/workspace/permissions/set).

import express, { type Request, type Router } from "express";
import { type EmulatorContext, callerOf } from "./context.js";
import { answeringJson } from "./errors.js";
import type { ExperimentRef } from "./experiment-access.js";
import type { Principal } from "./principals.js";
import {
  ADMINS_GROUP,
  ALL_USERS_GROUP,
  type AccessControlEntry,
  type Folder,
  PERMISSION_LEVELS,
  type PermissionLevel,
  WorkspaceRefusal,
  atLeast,
  principalLabel,
} from "./workspace-tree.js";

type Json = Record<string, unknown>;
const EXPERIMENT_LEVELS: readonly PermissionLevel[] = ["CAN_READ", "CAN_EDIT", "CAN_MANAGE"];

type Target = { kind: "directory"; folder: Folder } | { kind: "experiment"; exp: ExperimentRef };

async function targetOf(ctx: EmulatorContext, type: string, id: string): Promise<Target> {
  if (type === "directories") {
    const folder = ctx.workspace.folderById(id);
    if (!folder) throw new WorkspaceRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Directory ${id} does not exist.`);
    return { kind: "directory", folder };
  }
  const exp = await ctx.experiments.byId(id);
  if (!exp) throw new WorkspaceRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Node ID ${id} does not exist.`);
  return { kind: "experiment", exp };
}

function aclKey(target: Target): { folder: Folder } | { experimentId: string } {
  return target.kind === "directory" ? { folder: target.folder } : { experimentId: target.exp.id };
}

function principalField(ace: AccessControlEntry): Json {
  if (ace.kind === "group") return { group_name: ace.name };
  return ace.kind === "user" ? { user_name: ace.name } : { service_principal_name: ace.name };
}

/** The WorkspaceObjectPermissions answer: direct grants, then those inherited from each ancestor folder. */
function permissionsView(ctx: EmulatorContext, target: Target): Json {
  const path = target.kind === "directory" ? target.folder.path : target.exp.name;
  const rows = new Map<string, { field: Json; all: Json[] }>();
  const addRow = (ace: AccessControlEntry, inheritedFrom: string | undefined): void => {
    const key = `${ace.kind}:${ace.name}`;
    const row = rows.get(key) ?? { field: principalField(ace), all: [] };
    row.all.push({
      permission_level: ace.level,
      inherited: inheritedFrom !== undefined,
      ...(inheritedFrom !== undefined ? { inherited_from_object: [inheritedFrom] } : {}),
    });
    rows.set(key, row);
  };
  for (const ace of ctx.workspace.directAcl(aclKey(target))) addRow(ace, undefined);
  for (const ancestor of ctx.workspace.ancestors(target.kind === "directory" ? path : `${path}/x`)) {
    if (target.kind === "directory" && ancestor.path === path) continue;
    for (const ace of ancestor.acl) addRow(ace, `/directories/${ancestor.path === "/" ? "" : ancestor.objectId}`);
  }
  // Admins manage everything, shown as inherited from the root (terraform-provider-databricks exporter fixtures).
  addRow({ kind: "group", name: ADMINS_GROUP, level: "CAN_MANAGE" }, "/directories/");
  const objectId = target.kind === "directory" ? `/directories/${target.folder.objectId}` : `/experiments/${target.exp.id}`;
  return {
    object_id: objectId,
    object_type: target.kind === "directory" ? "directory" : "mlflowExperiment",
    access_control_list: [...rows.values()].map((r) => ({ ...r.field, all_permissions: r.all })),
  };
}

function parseAcl(ctx: EmulatorContext, body: Json, levels: readonly PermissionLevel[]): AccessControlEntry[] {
  const list = body.access_control_list;
  if (!Array.isArray(list)) throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", "Missing required field: access_control_list");
  return list.map((raw: Json) => {
    const level = raw.permission_level as PermissionLevel;
    // Experiments also take CAN_RUN, "enforced the same way as Can Edit" (docs: mlflow/experiments-acl).
    const effective = level === "CAN_RUN" && levels === EXPERIMENT_LEVELS ? "CAN_EDIT" : level;
    if (!levels.includes(effective))
      throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", `Permission level ${String(level)} is not supported here.`);
    const named = [
      ["user", raw.user_name],
      ["group", raw.group_name],
      ["service_principal", raw.service_principal_name],
    ].filter(([, v]) => typeof v === "string" && v !== "");
    if (named.length !== 1)
      throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", "Exactly one of user_name, group_name or service_principal_name is required.");
    const [kind, name] = named[0] as ["user" | "group" | "service_principal", string];
    const exists =
      kind === "group"
        ? name === ALL_USERS_GROUP || ctx.directory.groups.some((g) => g.displayName === name)
        : ctx.directory.find(name)?.kind === (kind === "user" ? "user" : "service_principal");
    if (!exists) throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", `Principal ${name} does not exist.`);
    return { kind, name, level: effective };
  });
}

/** Reading or changing permissions needs CAN_MANAGE (docs: workspace-acl, experiments-acl). */
async function managedTarget(ctx: EmulatorContext, p: Principal, type: string, id: string): Promise<Target> {
  const target = await targetOf(ctx, type, id);
  const level = target.kind === "directory" ? ctx.workspace.levelOn(p, target.folder.path) : ctx.workspace.levelOn(p, target.exp.name, target.exp.id);
  if (!atLeast(level, "CAN_MANAGE")) {
    throw new WorkspaceRefusal(
      403,
      "PERMISSION_DENIED",
      `${principalLabel(p)} does not have Manage permissions on ${target.kind === "directory" ? target.folder.path : target.exp.name}. Please contact the owner or an administrator for access.`,
    );
  }
  return target;
}

const LEVEL_DESCRIPTIONS: Record<PermissionLevel, string> = {
  CAN_READ: "Can view the object",
  CAN_RUN: "Can view and run the object",
  CAN_EDIT: "Can view, run and edit the object",
  CAN_MANAGE: "Can view, run, edit and change the permissions of the object",
};

/**
 * GET .../permissionLevels: {permission_levels: [{permission_level, description}]}
 * (databricks-sdk service/workspace.py:2927-2955, ml.py:11427-11446); the levels
 * are the SDK enums' (workspace.py:1708-1715, ml.py:2328-2333).
 */
async function permissionLevels(ctx: EmulatorContext, p: Principal, type: string, id: string): Promise<Json> {
  const target = await managedTarget(ctx, p, type, id);
  const levels = target.kind === "directory" ? PERMISSION_LEVELS : EXPERIMENT_LEVELS;
  return { permission_levels: levels.map((level) => ({ permission_level: level, description: LEVEL_DESCRIPTIONS[level] })) };
}

async function permissions(ctx: EmulatorContext, p: Principal, type: string, id: string, req: Request): Promise<Json> {
  const target = await managedTarget(ctx, p, type, id);
  if (req.method !== "GET") {
    const entries = parseAcl(ctx, (req.body ?? {}) as Json, target.kind === "directory" ? PERMISSION_LEVELS : EXPERIMENT_LEVELS);
    ctx.workspace.setAcl(aclKey(target), entries, req.method === "PUT" ? "replace" : "merge");
  }
  return permissionsView(ctx, target);
}

export function workspacePermissionsRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const json = express.json({ type: () => true });
  for (const type of ["directories", "experiments"]) {
    router.get(
      `/api/2.0/permissions/${type}/:id/permissionLevels`,
      answeringJson((req, res) => permissionLevels(ctx, callerOf(res), type, String(req.params.id))),
    );
    router.all(`/api/2.0/permissions/${type}/:id`, json, (req, res, next) => {
      if (!["GET", "PUT", "PATCH"].includes(req.method)) return next();
      answeringJson((r, s) => permissions(ctx, callerOf(s), type, String(r.params.id), r))(req, res, next);
    });
  }
  return router;
}
