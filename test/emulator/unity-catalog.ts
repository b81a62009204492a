// Unity Catalog registered models (/api/2.0/mlflow/unity-catalog/registered-models/...),
// as MLflow's UcModelRegistryStore calls them (mlflow/store/_unity_catalog/registry/rest_store.py).
// Names are three-level and lower-cased, since "Unity Catalog stores all
// object names as lowercase" (docs.databricks.com/sql/language-manual/sql-ref-names.html;
// MLflow itself never lower-cases, _unity_catalog_utils.py:433-448); the
// catalog and schema must exist in the metastore and the caller needs the
// privileges uc-model-access.ts lists. State stays in the backing MLflow
// server under the lower-case names; model versions are in uc-model-versions.ts,
// the SDK's /api/2.1/unity-catalog/models view of the same models in
// uc-models-v21.ts, catalogs/schemas/volumes in uc-api.ts and grants in
// uc-grants-api.ts, all mounted here.

import express, { type Response, type Router } from "express";
import { backingCall } from "./backing-client.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { ucApiRouter } from "./uc-api.js";
import { ucGrantsRouter } from "./uc-grants-api.js";
import { type Json, OSS, UC, failed, str, ucRoute } from "./uc-http.js";
import { dropModel, mayRead, ownerOf, requireCreateModel, requireModel, ucModelName } from "./uc-model-access.js";
import { ucModelsV21Router } from "./uc-models-v21.js";
import { modelVersionsRouter } from "./uc-model-versions.js";
import { invalid } from "./uc-privileges.js";
import { TAG_USER, ucModelVersion, ucRegisteredModel, withReservedTags } from "./uc-translate.js";

export function unityCatalogRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const location = (name: string, version: string): string => ctx.modelStorage.storageLocation(name, version);
  router.use(UC, express.json({ type: () => true }));
  const sendModel = async (res: Response, name: string): Promise<void> => {
    const got = await backingCall(ctx, "GET", `${OSS}/registered-models/get`, { query: { name } });
    if (failed(res, got)) return;
    res.json({ registered_model: ucRegisteredModel(got.json.registered_model as Json) });
  };

  ucRoute(router, "post", "/registered-models/create", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireCreateModel(ctx, callerOf(res), name);
    const tags = withReservedTags(a.tags, { [TAG_USER]: callerOf(res).name });
    const created = await backingCall(ctx, "POST", `${OSS}/registered-models/create`, { body: { name, description: a.description, tags } });
    if (failed(res, created)) return;
    res.json({ registered_model: ucRegisteredModel(created.json.registered_model as Json) });
  });
  ucRoute(router, "get", "/registered-models/get", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "read");
    await sendModel(res, name);
  });
  // Only models the caller may read are listed (RegisteredModelsAPI.list, catalog.py:19544-19549);
  // a filtered page may come back short, with the backing server's token.
  ucRoute(router, "get", "/registered-models/search", async (a, _req, res) => {
    const p = callerOf(res);
    const found = await backingCall(ctx, "GET", `${OSS}/registered-models/search`, {
      query: { max_results: str(a.max_results), page_token: str(a.page_token) },
    });
    if (failed(res, found)) return;
    const models = ((found.json.registered_models as Json[] | undefined) ?? []).filter((m) => mayRead(ctx, p, String(m.name), ownerOf(m)));
    res.json({ registered_models: models.map(ucRegisteredModel), next_page_token: found.json.next_page_token });
  });
  // Comment and name (within the same schema): owner only (catalog.py:19673-19679).
  ucRoute(router, "patch", "/registered-models/update", async (a, _req, res) => {
    let name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "owner");
    if (a.new_name !== undefined && a.new_name !== null) {
      const newName = ucModelName(a.new_name);
      if (newName.split(".").slice(0, 2).join(".") !== name.split(".").slice(0, 2).join(".")) {
        throw invalid(`Cannot move registered model ${name} to another catalog or schema (${newName}).`);
      }
      if (newName !== name) {
        const renamed = await backingCall(ctx, "POST", `${OSS}/registered-models/rename`, { body: { name, new_name: newName } });
        if (failed(res, renamed)) return;
        ctx.unityCatalog.store.moveGrants("FUNCTION", name, newName);
        name = newName;
      }
    }
    if (a.description !== undefined) {
      const updated = await backingCall(ctx, "PATCH", `${OSS}/registered-models/update`, { body: { name, description: a.description } });
      if (failed(res, updated)) return;
    }
    await sendModel(res, name);
  });
  ucRoute(router, "delete", "/registered-models/delete", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "owner");
    if (failed(res, await dropModel(ctx, name))) return;
    res.json({});
  });
  // Tags need APPLY TAG; aliases need ownership (catalog.py:19339-19342).
  for (const [path, method, need] of [
    ["/registered-models/set-tag", "post", "tag"],
    ["/registered-models/delete-tag", "delete", "tag"],
    ["/registered-models/alias", "post", "owner"],
    ["/registered-models/alias", "delete", "owner"],
    ["/model-versions/set-tag", "post", "tag"],
    ["/model-versions/delete-tag", "delete", "tag"],
  ] as const) {
    ucRoute(router, method, path, async (a, _req, res) => {
      const name = ucModelName(a.name);
      await requireModel(ctx, callerOf(res), name, need);
      const result = await backingCall(ctx, method === "post" ? "POST" : "DELETE", `${OSS}${path}`, { body: { ...a, name } });
      if (failed(res, result)) return;
      res.json({});
    });
  }
  ucRoute(router, "get", "/registered-models/alias", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "read");
    const got = await backingCall(ctx, "GET", `${OSS}/registered-models/alias`, { query: { name, alias: str(a.alias) } });
    if (failed(res, got)) return;
    res.json({ model_version: ucModelVersion(got.json.model_version as Json, location) });
  });
  router.get(/^\/api\/2\.0\/mlflow\/unity-catalog\/registered-models:is-databricks-sdk-models-artifact-repository-enabled$/, (_req, res) => {
    res.json({ is_databricks_sdk_models_artifact_repository_enabled: ctx.ucModelArtifacts === "sdk" });
  });
  router.use(modelVersionsRouter(ctx));
  // The same models through the Unity Catalog 2.1 API the SDK calls (/api/2.1/unity-catalog/models).
  router.use(ucModelsV21Router(ctx));
  // The metastore's catalogs, schemas, volumes and grants (/api/2.1/unity-catalog).
  router.use(ucApiRouter(ctx));
  router.use(ucGrantsRouter(ctx));
  return router;
}
