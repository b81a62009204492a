// SCIM 2.0 identity endpoints of the workspace (/api/2.0/preview/scim/v2).
// Gateways call Me to learn who a token belongs to and Users/Groups to map
// people to groups, so the resource shapes follow Databricks' SCIM answers.

import express, { type Response, type Router } from "express";
import { type EmulatorContext, callerOf } from "./context.js";
import type { Group, Principal } from "./principals.js";

const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal";
const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

function groupRefs(ctx: EmulatorContext, p: Principal): Record<string, string>[] {
  return p.groupIds
    .map((id) => ctx.directory.findGroup(id))
    .filter((g): g is Group => g !== undefined)
    .map((g) => ({ display: g.displayName, type: "direct", value: g.id, $ref: `Groups/${g.id}` }));
}

function userResource(ctx: EmulatorContext, p: Principal): Record<string, unknown> {
  if (p.kind === "service_principal") {
    // /Me for a service principal answers in user shape, userName = application id.
    return {
      schemas: [USER_SCHEMA],
      id: p.id,
      userName: p.name,
      applicationId: p.name,
      displayName: p.displayName,
      active: p.active,
      groups: groupRefs(ctx, p),
      entitlements: [{ value: "workspace-access" }],
    };
  }
  const [given, ...rest] = p.displayName.split(" ");
  return {
    schemas: [USER_SCHEMA],
    id: p.id,
    userName: p.name,
    displayName: p.displayName,
    name: { givenName: given ?? "", familyName: rest.join(" ") },
    active: p.active,
    emails: [{ type: "work", value: p.name, primary: true }],
    groups: groupRefs(ctx, p),
    entitlements: [{ value: "workspace-access" }, { value: "databricks-sql-access" }],
  };
}

function servicePrincipalResource(ctx: EmulatorContext, p: Principal): Record<string, unknown> {
  return {
    schemas: [SP_SCHEMA],
    id: p.id,
    applicationId: p.name,
    displayName: p.displayName,
    active: p.active,
    groups: groupRefs(ctx, p),
  };
}

function groupResource(ctx: EmulatorContext, g: Group): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: g.id,
    displayName: g.displayName,
    members: ctx.directory.membersOf(g.id).map((m) => ({
      display: m.displayName,
      value: m.id,
      $ref: `${m.kind === "user" ? "Users" : "ServicePrincipals"}/${m.id}`,
    })),
  };
}

/** Parses `attr eq "value"` (the only filter Databricks clients send); null if unsupported. */
export function parseEqFilter(filter: string): { attr: string; value: string } | null {
  const m = /^\s*([A-Za-z.]+)\s+eq\s+(?:"([^"]*)"|'([^']*)')\s*$/i.exec(filter);
  if (!m || !m[1]) return null;
  return { attr: m[1].toLowerCase(), value: m[2] ?? m[3] ?? "" };
}

function sendList(res: Response, resources: Record<string, unknown>[], query: Record<string, unknown>): void {
  const startIndex = Math.max(1, Number(query.startIndex ?? 1) || 1);
  const count = query.count === undefined ? resources.length : Math.max(0, Number(query.count) || 0);
  const page = resources.slice(startIndex - 1, startIndex - 1 + count);
  res.json({
    schemas: [LIST_SCHEMA],
    totalResults: resources.length,
    startIndex,
    itemsPerPage: page.length,
    Resources: page,
  });
}

function scimError(res: Response, status: number, detail: string): void {
  res.status(status).json({ schemas: [ERROR_SCHEMA], detail, status: String(status) });
}

function filtered<T>(res: Response, items: T[], filter: unknown, attrs: Record<string, (item: T) => string>): T[] | undefined {
  if (typeof filter !== "string" || filter === "") return items;
  const parsed = parseEqFilter(filter);
  const get = parsed ? attrs[parsed.attr] : undefined;
  if (!parsed || !get) {
    scimError(res, 400, `Unsupported filter: ${filter}`);
    return undefined;
  }
  return items.filter((item) => get(item).toLowerCase() === parsed.value.toLowerCase());
}

export function scimRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const base = "/api/2.0/preview/scim/v2";
  const dir = ctx.directory;

  router.get(`${base}/Me`, (_req, res) => {
    res.json(userResource(ctx, callerOf(res)));
  });

  router.get(`${base}/Users`, (req, res) => {
    const users = filtered(res, dir.users, req.query.filter, {
      username: (u) => u.name,
      displayname: (u) => u.displayName,
      id: (u) => u.id,
      "emails.value": (u) => u.name,
    });
    if (users)
      sendList(
        res,
        users.map((u) => userResource(ctx, u)),
        req.query,
      );
  });

  router.get(`${base}/Users/:id`, (req, res) => {
    const user = dir.users.find((u) => u.id === req.params.id);
    if (!user) return scimError(res, 404, `User ${req.params.id} not found`);
    res.json(userResource(ctx, user));
  });

  router.get(`${base}/ServicePrincipals`, (req, res) => {
    const sps = filtered(res, [dir.servicePrincipal], req.query.filter, {
      applicationid: (s) => s.name,
      displayname: (s) => s.displayName,
      id: (s) => s.id,
    });
    if (sps)
      sendList(
        res,
        sps.map((s) => servicePrincipalResource(ctx, s)),
        req.query,
      );
  });

  router.get(`${base}/ServicePrincipals/:id`, (req, res) => {
    const sp = dir.servicePrincipal;
    if (sp.id !== req.params.id) return scimError(res, 404, `Service principal ${req.params.id} not found`);
    res.json(servicePrincipalResource(ctx, sp));
  });

  router.get(`${base}/Groups`, (req, res) => {
    const groups = filtered(res, dir.groups, req.query.filter, {
      displayname: (g) => g.displayName,
      id: (g) => g.id,
    });
    if (groups)
      sendList(
        res,
        groups.map((g) => groupResource(ctx, g)),
        req.query,
      );
  });

  router.get(`${base}/Groups/:id`, (req, res) => {
    const group = dir.findGroup(req.params.id);
    if (!group) return scimError(res, 404, `Group ${req.params.id} not found`);
    res.json(groupResource(ctx, group));
  });

  // Membership changes: PATCH with a PatchOp (RFC 7644 section 3.5.2; databricks-sdk
  // GroupsAPI.patch sends {schemas: [...PatchOp], Operations: [{op, path, value}]} and
  // reads no body back). Only workspace admins may change groups ("Only workspace admins
  // can ... update groups", Databricks SCIM docs); anyone else gets 403.
  router.patch(`${base}/Groups/:id`, express.json({ type: () => true }), (req, res) => {
    const caller = callerOf(res);
    const admins = dir.groups.find((g) => g.displayName === "admins");
    if (admins === undefined || !caller.groupIds.includes(admins.id)) return scimError(res, 403, "Only workspace admins can update groups.");
    const group = dir.findGroup(req.params.id);
    if (!group) return scimError(res, 404, `Group ${req.params.id} not found`);
    const body = req.body as { schemas?: unknown; Operations?: unknown };
    if (!Array.isArray(body.schemas) || !body.schemas.includes("urn:ietf:params:scim:api:messages:2.0:PatchOp") || !Array.isArray(body.Operations)) {
      return scimError(res, 400, "Request must be a SCIM PatchOp with schemas and Operations.");
    }
    const changes: Array<{ op: "add" | "remove"; member: Principal }> = [];
    for (const raw of body.Operations as Array<{ op?: unknown; path?: unknown; value?: unknown }>) {
      const op = typeof raw.op === "string" ? raw.op.toLowerCase() : "";
      if ((op !== "add" && op !== "remove") || (raw.path !== undefined && raw.path !== "members")) {
        return scimError(res, 400, `Unsupported patch operation ${JSON.stringify(raw.op)} on ${JSON.stringify(raw.path)}.`);
      }
      const values = Array.isArray(raw.value) ? (raw.value as Array<{ value?: unknown }>) : [];
      for (const value of values) {
        const member = typeof value.value === "string" ? dir.all().find((p) => p.id === value.value) : undefined;
        if (!member) return scimError(res, 404, `Member ${JSON.stringify(value.value)} not found`);
        changes.push({ op, member });
      }
    }
    for (const { op, member } of changes) {
      if (op === "add" && !member.groupIds.includes(group.id)) member.groupIds.push(group.id);
      if (op === "remove" && member.groupIds.includes(group.id)) member.groupIds.splice(member.groupIds.indexOf(group.id), 1);
    }
    res.status(204).end();
  });

  return router;
}
