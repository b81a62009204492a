// Registered models and model versions through the Unity Catalog 2.1 API, as
// databricks-sdk 0.167.0 calls it (service/catalog.py RegisteredModelsAPI
// :19320-19720 and ModelVersionsAPI :18194-18470):
//   POST   /api/2.1/unity-catalog/models                          create
//   GET    /api/2.1/unity-catalog/models[?catalog_name&schema_name] list
//   GET    /api/2.1/unity-catalog/models/{full_name}              get
//   DELETE /api/2.1/unity-catalog/models/{full_name}              delete
//   GET    /api/2.1/unity-catalog/models/{full_name}/aliases/{alias}   get a version by alias
//   GET    /api/2.1/unity-catalog/models/{full_name}/versions     list versions
//   GET    /api/2.1/unity-catalog/models/{full_name}/versions/{v} get a version
//   DELETE /api/2.1/unity-catalog/models/{full_name}/versions/{v} delete a version
// The state is the one MLflow's /api/2.0/mlflow/unity-catalog routes use (the
// backing server's registry, names lower-cased) and so are the privilege rules
// (uc-model-access.ts): USE CATALOG + USE SCHEMA always; CREATE MODEL to
// create; owner or EXECUTE to read; owner to delete. Lists show only what the
// caller may read (RegisteredModelsAPI.list and ModelVersionsAPI.list
// docstrings). Answer shapes are in uc-shapes.ts. Updates and aliases changes
// are left to the MLflow client's routes.

import express, { type Request, type Router } from "express";
import { backingCall } from "./backing-client.js";
import { type EmulatorContext, callerOf } from "./context.js";
import type { Principal } from "./principals.js";
import { type Json, OSS, fieldsOf, pageOf, refusing } from "./uc-http.js";
import { dropModel, mayRead, modelNamesUnder, modelNotFound, ownerOf, requireCreateModel, requireModel, ucModelName } from "./uc-model-access.js";
import { UcRefusal, invalid } from "./uc-privileges.js";
import { type SecurableInfo, ucName } from "./uc-securables.js";
import { renderModelVersionInfo, renderRegisteredModel } from "./uc-shapes.js";
import { TAG_USER, withReservedTags } from "./uc-translate.js";

const BASE = "/api/2.1/unity-catalog/models";
/**
 * Page sizes the docstrings give (as of 4/2/2024 and 1/3/2024): models in one
 * schema 10000 (default and cap); models of the whole metastore 100 by
 * default, at most 1000; versions 100 by default, at most 1000.
 */
const PAGE = { schemaModels: 10_000, allModels: 100, allModelsMax: 1000, versions: 100, versionsMax: 1000 } as const;

const truthy = (value: unknown): boolean => value === true || value === "true";

/** The registry's view of a model, or its 404. */
async function backingModel(ctx: EmulatorContext, name: string): Promise<Json> {
  const got = await backingCall(ctx, "GET", `${OSS}/registered-models/get`, { query: { name } });
  const model = got.json.registered_model as Json | undefined;
  if (got.status !== 200 || !model) throw modelNotFound(name);
  return model;
}

function versionParam(req: Request): string {
  const raw = String((req.params as Record<string, string>).version);
  if (!/^\d+$/.test(raw)) throw invalid(`Invalid version '${raw}': must be a positive integer.`);
  return String(Number(raw));
}

/** The model version, after the caller's access to its model is checked. */
async function backingVersion(ctx: EmulatorContext, name: string, version: string): Promise<Json> {
  const got = await backingCall(ctx, "GET", `${OSS}/model-versions/get`, { query: { name, version } });
  const mv = got.json.model_version as Json | undefined;
  if (got.status !== 200 || !mv) throw new UcRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Model version '${name}' version ${version} does not exist.`);
  return mv;
}

/** Every version of a model, oldest first. */
async function versionsOf(ctx: EmulatorContext, name: string): Promise<Json[]> {
  const out: Json[] = [];
  let pageToken: string | undefined;
  do {
    const found = await backingCall(ctx, "GET", `${OSS}/model-versions/search`, {
      query: { filter: `name='${name}'`, max_results: 1000, page_token: pageToken },
    });
    out.push(...((found.json.model_versions as Json[] | undefined) ?? []));
    pageToken = typeof found.json.next_page_token === "string" && found.json.next_page_token ? found.json.next_page_token : undefined;
  } while (pageToken);
  return out.sort((a, b) => Number(a.version) - Number(b.version));
}

/** Models the caller may read, below `catalog.schema` when both are given (traversal checked), else in the metastore. */
async function readableModels(ctx: EmulatorContext, p: Principal, a: Json): Promise<{ models: Json[]; inSchema: boolean }> {
  const hasCatalog = a.catalog_name !== undefined && a.catalog_name !== "";
  const hasSchema = a.schema_name !== undefined && a.schema_name !== "";
  if (hasCatalog !== hasSchema) throw invalid("catalog_name and schema_name must be given together.");
  let prefix: string | undefined;
  if (hasCatalog) {
    const parts = [ucName(a.catalog_name, "catalog_name"), ucName(a.schema_name, "schema_name")];
    const chain = ctx.unityCatalog.store.resolve(parts);
    ctx.unityCatalog.requireTraverse(p, chain[0] as SecurableInfo, chain[1]);
    prefix = parts.join(".");
  }
  const models: Json[] = [];
  for (const name of await modelNamesUnder(ctx, prefix)) {
    const got = await backingCall(ctx, "GET", `${OSS}/registered-models/get`, { query: { name } });
    const model = got.json.registered_model as Json | undefined;
    if (model && mayRead(ctx, p, name, ownerOf(model))) models.push(model);
  }
  return { models, inSchema: hasCatalog };
}

export function ucModelsV21Router(ctx: EmulatorContext): Router {
  const router = express.Router();
  router.use(BASE, express.json({ type: () => true }));
  const fullName = (req: Request): string => ucModelName((req.params as Record<string, string>).name);

  // Create: catalog_name, schema_name and name are required; the creator owns the model (catalog.py:19350-19452).
  router.post(
    BASE,
    refusing(async (req, res) => {
      const p = callerOf(res);
      const a = fieldsOf(req);
      if (a.storage_location) throw invalid("storage_location needs an external location; this workspace has none.");
      const name = [ucName(a.catalog_name, "catalog_name"), ucName(a.schema_name, "schema_name"), ucName(a.name, "name")].join(".");
      await requireCreateModel(ctx, p, name);
      const tags = withReservedTags([], { [TAG_USER]: p.name });
      const created = await backingCall(ctx, "POST", `${OSS}/registered-models/create`, { body: { name, description: a.comment, tags } });
      const model = created.json.registered_model as Json | undefined;
      if (created.status !== 200 || !model) throw new UcRefusal(created.status, String(created.json.error_code), String(created.json.message));
      res.json(renderRegisteredModel(ctx, model, p.name, { includeAliases: false }));
    }),
  );

  router.get(
    BASE,
    refusing(async (req, res) => {
      const a = fieldsOf(req);
      const { models, inSchema } = await readableModels(ctx, callerOf(res), a);
      const page = inSchema ? pageOf(models, a, PAGE.schemaModels, false) : pageOf(models, a, PAGE.allModels, false, PAGE.allModelsMax);
      res.json({
        registered_models: page.items.map((m) => renderRegisteredModel(ctx, m, ownerOf(m), { includeAliases: false })),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      });
    }),
  );

  const one = `${BASE}/:name`;
  router.get(
    one,
    refusing(async (req, res) => {
      const name = fullName(req);
      await requireModel(ctx, callerOf(res), name, "read");
      const model = await backingModel(ctx, name);
      res.json(renderRegisteredModel(ctx, model, ownerOf(model), { includeAliases: truthy(fieldsOf(req).include_aliases) }));
    }),
  );
  // Delete: owner or metastore admin; "all its model versions" go with it (catalog.py:19454-19473).
  router.delete(
    one,
    refusing(async (req, res) => {
      const name = fullName(req);
      await requireModel(ctx, callerOf(res), name, "owner");
      const deleted = await dropModel(ctx, name);
      if (deleted.status !== 200) throw modelNotFound(name);
      res.json({});
    }),
  );

  router.get(
    `${one}/aliases/:alias`,
    refusing(async (req, res) => {
      const name = fullName(req);
      await requireModel(ctx, callerOf(res), name, "read");
      const alias = String((req.params as Record<string, string>).alias);
      const got = await backingCall(ctx, "GET", `${OSS}/registered-models/alias`, { query: { name, alias } });
      const mv = got.json.model_version as Json | undefined;
      if (got.status !== 200 || !mv) throw new UcRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Alias '${alias}' does not exist for model '${name}'.`);
      res.json(renderModelVersionInfo(ctx, mv, { includeAliases: truthy(fieldsOf(req).include_aliases) }));
    }),
  );

  router.get(
    `${one}/versions`,
    refusing(async (req, res) => {
      const name = fullName(req);
      await requireModel(ctx, callerOf(res), name, "read");
      const page = pageOf(await versionsOf(ctx, name), fieldsOf(req), PAGE.versions, false, PAGE.versionsMax);
      res.json({
        model_versions: page.items.map((v) => renderModelVersionInfo(ctx, v, { includeAliases: false })),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      });
    }),
  );

  const version = `${one}/versions/:version`;
  router.get(
    version,
    refusing(async (req, res) => {
      const name = fullName(req);
      const v = versionParam(req);
      await requireModel(ctx, callerOf(res), name, "read");
      const mv = await backingVersion(ctx, name, v);
      res.json(renderModelVersionInfo(ctx, mv, { includeAliases: truthy(fieldsOf(req).include_aliases) }));
    }),
  );
  // Delete a version: owner of the model or metastore admin (catalog.py:18205-18211); its files go too.
  router.delete(
    version,
    refusing(async (req, res) => {
      const name = fullName(req);
      const v = versionParam(req);
      await requireModel(ctx, callerOf(res), name, "owner");
      await backingVersion(ctx, name, v);
      await backingCall(ctx, "DELETE", `${OSS}/model-versions/delete`, { body: { name, version: v } });
      await ctx.modelStorage.remove(name, v);
      res.json({});
    }),
  );
  return router;
}
