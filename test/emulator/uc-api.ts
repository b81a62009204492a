// Unity Catalog catalogs, schemas and volumes (/api/2.1/unity-catalog/...), as
// databricks-sdk 0.167.0 service/catalog.py calls them: CatalogsAPI
// (:15499-15786), SchemasAPI (:19964-20193), VolumesAPI (:21551-21799); answer
// shapes are in uc-shapes.ts. The metastore starts empty;
// tests create what they need as an admin would (see uc-admin.ts).
// Privileges per call are the ones the SDK docstrings list (cited inline).
// Renames (new_name) are not emulated and are refused.

import express, { type Request, type Router } from "express";
import { type EmulatorContext, callerOf } from "./context.js";
import type { Principal } from "./principals.js";
import { type Json, fieldsOf, pageOf, refusing } from "./uc-http.js";
import { removeModelsUnder } from "./uc-model-access.js";
import { UcRefusal, invalid } from "./uc-privileges.js";
import { type ObjectKind, type SecurableInfo, ucFullName, ucName } from "./uc-securables.js";
import { renderSecurable as render } from "./uc-shapes.js";

const BASE = "/api/2.1/unity-catalog";
/** Server page sizes when max_results is 0 (volumes: "10000, as of 1/29/2024", catalog.py:21682). */
const PAGE = { CATALOG: 1000, SCHEMA: 1000, VOLUME: 10_000 } as const;

function textField(a: Json, field: string): string | undefined {
  const v = a[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalid(`Invalid ${field}: expected a string.`);
  return v;
}

function properties(a: Json): Record<string, string> | undefined {
  const v = a.properties;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw invalid("Invalid properties: expected an object of strings.");
  return Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [k, String(x)]));
}

function forced(a: Json): boolean {
  return a.force === true || a.force === "true";
}

export function ucApiRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const uc = ctx.unityCatalog;
  const store = uc.store;
  const metastore = (): { kind: "METASTORE"; fullName: string; owner: string } => ({ kind: "METASTORE", fullName: store.metastoreId, owner: "" });
  router.use(BASE, express.json({ type: () => true }));
  const param = (req: Request): string => String((req.params as Record<string, string>).name);

  /** PATCH: comment, properties and owner (owner or metastore admin only, catalog.py:15708-15786, :20136-20193, :21758-21799). */
  const update = (p: Principal, o: SecurableInfo, chain: SecurableInfo[], a: Json): Json => {
    if (a.new_name !== undefined && a.new_name !== null && a.new_name !== o.fullName.split(".").pop()) {
      throw invalid("Renaming is not supported by this workspace emulator.");
    }
    if (o.kind !== "CATALOG") uc.requireTraverse(p, chain[0] as SecurableInfo, o.kind === "VOLUME" ? chain[1] : undefined);
    uc.requireOwner(p, o);
    const owner = textField(a, "owner");
    if (owner !== undefined) uc.checkPrincipal(owner);
    const comment = textField(a, "comment");
    const props = properties(a);
    Object.assign(o, {
      ...(owner !== undefined ? { owner } : {}),
      ...(comment !== undefined ? { comment } : {}),
      ...(props ? { properties: props } : {}),
      updatedAt: Date.now(),
      updatedBy: p.name,
    });
    return render(ctx, o);
  };

  /** DELETE: refuses a non-empty container unless force (codes: mlflow/protos/databricks_pb2.pyi:368-369). */
  const remove = async (o: SecurableInfo, a: Json): Promise<void> => {
    if (o.kind !== "VOLUME") {
      const inside =
        o.kind === "CATALOG"
          ? store.children("SCHEMA", o.fullName).filter((s) => !s.fullName.endsWith(".information_schema"))
          : store.children("VOLUME", o.fullName);
      const hasModels = await removeModelsUnder(ctx, o.fullName, { dryRun: true });
      if ((inside.length > 0 || hasModels) && !forced(a)) {
        const label = o.kind === "CATALOG" ? "Catalog" : "Schema";
        throw new UcRefusal(400, `${o.kind}_NOT_EMPTY`, `${label} '${o.fullName}' is not empty. Use force=true to delete it with its contents.`);
      }
      await removeModelsUnder(ctx, o.fullName, { dryRun: false });
    }
    store.remove(o.kind, o.fullName);
    await ctx.blobs.remove(`/Volumes/${o.fullName.split(".").join("/")}`, true);
  };

  // ---- catalogs: create needs metastore admin or CREATE CATALOG (catalog.py:15513-15514) ----
  router.post(
    `${BASE}/catalogs`,
    refusing((req, res) => {
      const p = callerOf(res);
      const a = fieldsOf(req);
      const name = ucName(a.name, "name");
      for (const field of ["connection_name", "provider_name", "share_name"]) {
        if (a[field]) throw invalid(`Foreign and shared catalogs (${field}) are not supported by this workspace emulator.`);
      }
      uc.require(p, "CREATE_CATALOG", [metastore()]);
      const created = store.add("CATALOG", name, p.name, { comment: textField(a, "comment"), properties: properties(a) });
      res.json(render(ctx, created));
    }),
  );
  // Listed: what the caller owns or may USE (catalog.py:15645-15647).
  router.get(
    `${BASE}/catalogs`,
    refusing((req, res) => {
      const p = callerOf(res);
      const visible = store.catalogs().filter((c) => uc.has(p, "USE_CATALOG", [c]));
      const page = pageOf(visible, fieldsOf(req), PAGE.CATALOG, true);
      res.json({ catalogs: page.items.map((c) => render(ctx, c)), ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
    }),
  );
  const catalogRoute = `${BASE}/catalogs/:name`;
  router.get(
    catalogRoute,
    refusing((req, res) => {
      const [catalog] = store.resolve([ucName(param(req), "name")]) as [SecurableInfo];
      uc.require(callerOf(res), "USE_CATALOG", [catalog]);
      res.json(render(ctx, catalog));
    }),
  );
  router.patch(
    catalogRoute,
    refusing((req, res) => {
      const chain = store.resolve([ucName(param(req), "name")]);
      res.json(update(callerOf(res), chain[0] as SecurableInfo, chain, fieldsOf(req)));
    }),
  );
  // Delete: metastore admin or owner (catalog.py:15586).
  router.delete(
    catalogRoute,
    refusing(async (req, res) => {
      const [catalog] = store.resolve([ucName(param(req), "name")]) as [SecurableInfo];
      uc.requireOwner(callerOf(res), catalog);
      await remove(catalog, fieldsOf(req));
      res.json({});
    }),
  );

  // ---- schemas and volumes ----
  const createIn = (kind: ObjectKind, req: Request, p: Principal): SecurableInfo => {
    const a = fieldsOf(req);
    const parentParts =
      kind === "SCHEMA" ? [ucName(a.catalog_name, "catalog_name")] : [ucName(a.catalog_name, "catalog_name"), ucName(a.schema_name, "schema_name")];
    const name = ucName(a.name, "name");
    const chain = store.resolve(parentParts);
    uc.requireTraverse(p, chain[0] as SecurableInfo, chain[1]);
    if (kind === "SCHEMA") {
      // Metastore admin or CREATE SCHEMA on the catalog (catalog.py:19974-19975).
      uc.require(p, "CREATE_SCHEMA", chain);
      return store.add("SCHEMA", `${parentParts[0]}.${name}`, p.name, { comment: textField(a, "comment"), properties: properties(a) });
    }
    // CREATE VOLUME on the schema; managed volumes take no storage_location, external ones need an
    // external location this workspace does not have (catalog.py:21567-21578).
    uc.require(p, "CREATE_VOLUME", chain);
    if (a.volume_type !== "MANAGED" && a.volume_type !== "EXTERNAL") throw invalid("Missing or invalid volume_type: MANAGED or EXTERNAL.");
    if (a.volume_type === "EXTERNAL") throw invalid("External volumes need an external location; this workspace has none.");
    if (a.storage_location) throw invalid("storage_location must be omitted for a MANAGED volume.");
    return store.add("VOLUME", `${parentParts.join(".")}.${name}`, p.name, { comment: textField(a, "comment"), volumeType: "MANAGED" });
  };
  for (const [kind, path, parts, read] of [
    ["SCHEMA", "schemas", 2, "USE_SCHEMA"],
    ["VOLUME", "volumes", 3, "READ_VOLUME"],
  ] as const) {
    router.post(
      `${BASE}/${path}`,
      refusing(async (req, res) => {
        const created = createIn(kind, req, callerOf(res));
        // A new volume is an empty folder the Files API can list at once.
        if (kind === "VOLUME") await ctx.blobs.mkdir(`/Volumes/${created.fullName.split(".").join("/")}`);
        res.json(render(ctx, created));
      }),
    );
    // Listed: what the caller owns or may read, after USE CATALOG (/ USE SCHEMA) (catalog.py:20078-20080, :21658-21664).
    router.get(
      `${BASE}/${path}`,
      refusing((req, res) => {
        const p = callerOf(res);
        const a = fieldsOf(req);
        const parentParts =
          kind === "SCHEMA"
            ? [ucName(a.catalog_name, "catalog_name")]
            : [ucName(a.catalog_name, "catalog_name"), ucName(a.schema_name, "schema_name")];
        const chain = store.resolve(parentParts);
        uc.requireTraverse(p, chain[0] as SecurableInfo, chain[1]);
        const visible = store.children(kind, parentParts.join(".")).filter((o) => uc.has(p, read, [...chain, o]));
        const page = pageOf(visible, a, PAGE[kind], kind === "SCHEMA");
        res.json({ [path]: page.items.map((o) => render(ctx, o)), ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
      }),
    );
    const one = `${BASE}/${path}/:name`;
    const resolveOne = (req: Request): SecurableInfo[] => store.resolve(ucFullName(param(req), parts));
    // Get: owner, USE SCHEMA (schemas) or READ VOLUME (volumes), plus traversal (catalog.py:20044-20045, :21731-21733).
    router.get(
      one,
      refusing((req, res) => {
        const p = callerOf(res);
        const chain = resolveOne(req);
        uc.requireTraverse(p, chain[0] as SecurableInfo, kind === "VOLUME" ? chain[1] : undefined);
        uc.require(p, read, chain);
        res.json(render(ctx, chain[chain.length - 1] as SecurableInfo));
      }),
    );
    router.patch(
      one,
      refusing((req, res) => {
        const chain = resolveOne(req);
        res.json(update(callerOf(res), chain[chain.length - 1] as SecurableInfo, chain, fieldsOf(req)));
      }),
    );
    // Delete: schema owner or catalog owner (catalog.py:20019-20020); volume owner (:21631-21633).
    router.delete(
      one,
      refusing(async (req, res) => {
        const p = callerOf(res);
        const chain = resolveOne(req);
        const target = chain[chain.length - 1] as SecurableInfo;
        const owners = kind === "SCHEMA" ? [target, chain[0] as SecurableInfo] : [target];
        if (!uc.isMetastoreAdmin(p) && !owners.some((o) => uc.owns(p, o))) uc.requireOwner(p, target);
        if (kind === "VOLUME") uc.requireTraverse(p, chain[0] as SecurableInfo, chain[1]);
        await remove(target, fieldsOf(req));
        res.json({});
      }),
    );
  }
  return router;
}
