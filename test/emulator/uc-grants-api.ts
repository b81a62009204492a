// Unity Catalog grants: GET/PATCH /api/2.1/unity-catalog/permissions/{securable_type}/{full_name}
// and GET /api/2.1/unity-catalog/effective-permissions/{securable_type}/{full_name},
// as databricks-sdk 0.167.0 GrantsAPI calls them (service/catalog.py:17487-17804):
// PATCH takes {changes: [{principal, add, remove}], omit_permissions_in_response}
// and answers {privilege_assignments: [{principal, privileges}]} (PrivilegeAssignment
// :11026-11031); effective answers add inherited_from_type / inherited_from_name
// (EffectivePermissionsList :3287-3422). The plain GET "does not include
// inherited permissions" (:17509). Registered models are FUNCTION securables
// (:19344-19345). A privilege must apply to the securable (docs
// .../manage-privileges/privileges.html); the message shape is an assumption.

import express, { type Request, type Router } from "express";
import { type EmulatorContext, callerOf } from "./context.js";
import type { Principal } from "./principals.js";
import { type Json, fieldsOf, refusing } from "./uc-http.js";
import { modelRef, parentChain, ucModelName } from "./uc-model-access.js";
import { type Privilege, UcRefusal, appliesTo, invalid, isPrivilege, parseSecurableType } from "./uc-privileges.js";
import { type SecurableRef, ucFullName, ucName } from "./uc-securables.js";

const BASE = "/api/2.1/unity-catalog";
/** GET permissions: max_results 1-149 is invalid, 0 means the server's page (catalog.py:17520-17527). */
const MIN_PAGE = 150;

/** The securable addressed by a path, with its ancestors (catalog first). */
async function chainOf(ctx: EmulatorContext, rawType: string, rawName: string): Promise<SecurableRef[]> {
  const kind = parseSecurableType(rawType);
  const store = ctx.unityCatalog.store;
  switch (kind) {
    case "METASTORE":
      if (rawName !== store.metastoreId) throw new UcRefusal(404, "METASTORE_DOES_NOT_EXIST", `Metastore '${rawName}' does not exist.`);
      return [{ kind, fullName: rawName, owner: "" }];
    case "CATALOG":
      return store.resolve([ucName(rawName, "full_name")]);
    case "SCHEMA":
      return store.resolve(ucFullName(rawName, 2));
    case "VOLUME":
      return store.resolve(ucFullName(rawName, 3));
    case "FUNCTION": {
      const name = ucModelName(rawName);
      const chain = parentChain(ctx, name);
      const model = await modelRef(ctx, name);
      if (!model) throw new UcRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Registered model '${name}' does not exist.`);
      return [...chain, model];
    }
    default:
      throw invalid(`Unsupported securable type '${rawType}'. Registered models use FUNCTION.`);
  }
}

function assignments(ctx: EmulatorContext, target: SecurableRef, only?: string): Json {
  const list = [...ctx.unityCatalog.store.grants(target.kind, target.fullName)]
    .filter(([principal]) => only === undefined || principal === only)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([principal, privileges]) => ({ principal, privileges: [...privileges].sort() }));
  return list.length > 0 ? { privilege_assignments: list } : {};
}

/** Readers see every grant when they may manage them, else only their own (`principal=<self>`). */
function visiblePrincipal(ctx: EmulatorContext, p: Principal, chain: SecurableRef[], a: Json): string | undefined {
  const asked = typeof a.principal === "string" && a.principal !== "" ? a.principal : undefined;
  if (ctx.unityCatalog.canManageGrants(p, chain)) return asked;
  if (asked === p.name) return asked;
  ctx.unityCatalog.requireManageGrants(p, chain);
  return asked;
}

function checkPageSize(a: Json): void {
  if (a.max_results === undefined || a.max_results === "") return;
  const n = Number(a.max_results);
  if (!Number.isInteger(n) || n < 0 || (n > 0 && n < MIN_PAGE))
    throw invalid(`Invalid max_results ${JSON.stringify(a.max_results)}: use 0 or at least ${MIN_PAGE}.`);
}

function privilegeList(value: unknown, target: SecurableRef): Privilege[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid("add and remove must be lists of privileges.");
  return value.map((x) => {
    if (!isPrivilege(x) || !appliesTo(x, target.kind)) {
      throw invalid(`Privilege ${String(x)} is not applicable to this entity [${target.fullName}:${target.kind}].`);
    }
    return x;
  });
}

export function ucGrantsRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const uc = ctx.unityCatalog;
  router.use(`${BASE}/permissions`, express.json({ type: () => true }));
  const target = (req: Request): Promise<SecurableRef[]> => {
    const params = req.params as Record<string, string>;
    return chainOf(ctx, String(params.type), String(params.name));
  };

  router.get(
    `${BASE}/permissions/:type/:name`,
    refusing(async (req, res) => {
      const a = fieldsOf(req);
      checkPageSize(a);
      const chain = await target(req);
      const only = visiblePrincipal(ctx, callerOf(res), chain, a);
      res.json(assignments(ctx, chain[chain.length - 1] as SecurableRef, only));
    }),
  );

  router.patch(
    `${BASE}/permissions/:type/:name`,
    refusing(async (req, res) => {
      const p = callerOf(res);
      const a = fieldsOf(req);
      const chain = await target(req);
      const last = chain[chain.length - 1] as SecurableRef;
      uc.requireManageGrants(p, chain);
      if (!Array.isArray(a.changes)) throw invalid("Missing required field: changes");
      // Validate every change before applying any, so a bad one changes nothing.
      const changes = (a.changes as Json[]).map((c) => {
        if (typeof c.principal !== "string" || c.principal === "") throw invalid("Each change needs a principal.");
        uc.checkPrincipal(c.principal);
        return { principal: c.principal, add: privilegeList(c.add, last), remove: privilegeList(c.remove, last) };
      });
      for (const c of changes) uc.store.updateGrants(last.kind, last.fullName, c.principal, c.add, c.remove);
      res.json(a.omit_permissions_in_response === true ? {} : assignments(ctx, last));
    }),
  );

  router.get(
    `${BASE}/effective-permissions/:type/:name`,
    refusing(async (req, res) => {
      const a = fieldsOf(req);
      const chain = await target(req);
      const only = visiblePrincipal(ctx, callerOf(res), chain, a);
      const list = [...uc.effective(chain)]
        .filter(([principal]) => only === undefined || principal === only)
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([principal, privileges]) => ({
          principal,
          privileges: privileges.map((e) =>
            e.inheritedFrom
              ? { privilege: e.privilege, inherited_from_type: e.inheritedFrom.kind, inherited_from_name: e.inheritedFrom.fullName }
              : { privilege: e.privilege },
          ),
        }));
      res.json(list.length > 0 ? { privilege_assignments: list } : {});
    }),
  );
  return router;
}
