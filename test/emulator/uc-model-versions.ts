// Unity Catalog model versions (/api/2.0/mlflow/unity-catalog/model-versions/...),
// as MLflow's UcModelRegistryStore and UnityCatalogModelsArtifactRepository
// call them (mlflow/store/_unity_catalog/registry/rest_store.py:1030-1150,
// mlflow/store/artifact/unity_catalog_models_artifact_repo.py). A new version
// is PENDING_REGISTRATION until finalize; its files can be written only until
// then. Creating, updating, finalizing and deleting a version, and write
// credentials, need ownership of the model; reading needs EXECUTE
// (uc-model-access.ts has the sources).

import express, { type Response, type Router } from "express";
import { type BackingResult, backingCall } from "./backing-client.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { type Json, OSS, UC, failed, str, ucRoute } from "./uc-http.js";
import { mayRead, modelRef, requireModel, ucModelName } from "./uc-model-access.js";
import { type UcRefusal, invalid } from "./uc-privileges.js";
import { TAG_MODEL_ID, TAG_RUN_EXPERIMENT, TAG_STATUS, TAG_TRACKING_SERVER, TAG_USER, ucModelVersion, withReservedTags } from "./uc-translate.js";

/** `name='...'` in a search filter, lower-cased like every UC name. */
const NAME_FILTER = /(\bname\s*=\s*)'([^']*)'/i;

/** The version as the registry reports it, or the failed backing answer. */
export async function ucVersion(ctx: EmulatorContext, name: string, version: string): Promise<{ mv?: Json; result: BackingResult }> {
  const result = await backingCall(ctx, "GET", `${OSS}/model-versions/get`, { query: { name, version } });
  const oss = result.json.model_version as Json | undefined;
  const location = (n: string, v: string): string => ctx.modelStorage.storageLocation(n, v);
  return result.status === 200 && oss ? { mv: ucModelVersion(oss, location), result } : { result };
}

/** Files of a READY version are immutable in Unity Catalog. */
export function immutable(name: string, version: string): UcRefusal {
  return invalid(`Model version ${name}/${version} is READY; its files can no longer be written.`);
}

export function modelVersionsRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const location = (name: string, version: string): string => ctx.modelStorage.storageLocation(name, version);
  router.use(`${UC}/model-versions`, express.json({ type: () => true }));
  const sendVersion = async (res: Response, name: string, version: string): Promise<void> => {
    const got = await ucVersion(ctx, name, version);
    if (failed(res, got.result)) return;
    res.json({ model_version: got.mv });
  };

  ucRoute(router, "post", "/model-versions/create", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "owner");
    let runExperiment: string | undefined;
    if (typeof a.run_id === "string" && a.run_id) {
      const run = await backingCall(ctx, "GET", `${OSS}/runs/get`, { query: { run_id: a.run_id } });
      runExperiment = (run.json.run as { info?: { experiment_id?: string } } | undefined)?.info?.experiment_id;
    }
    const tags = withReservedTags(a.tags, {
      [TAG_USER]: callerOf(res).name,
      [TAG_STATUS]: "PENDING_REGISTRATION",
      [TAG_RUN_EXPERIMENT]: runExperiment,
      [TAG_TRACKING_SERVER]: str(a.run_tracking_server_id),
      [TAG_MODEL_ID]: str(a.model_id),
    });
    const created = await backingCall(ctx, "POST", `${OSS}/model-versions/create`, {
      body: { name, source: a.source, run_id: a.run_id, description: a.description, tags, model_id: a.model_id },
    });
    if (failed(res, created)) return;
    res.json({ model_version: ucModelVersion(created.json.model_version as Json, location) });
  });
  ucRoute(router, "get", "/model-versions/get", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "read");
    await sendVersion(res, name, String(a.version));
  });
  ucRoute(router, "patch", "/model-versions/update", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "owner");
    const updated = await backingCall(ctx, "PATCH", `${OSS}/model-versions/update`, {
      body: { name, version: str(a.version), description: a.description },
    });
    if (failed(res, updated)) return;
    await sendVersion(res, name, String(a.version));
  });
  ucRoute(router, "delete", "/model-versions/delete", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "owner");
    const deleted = await backingCall(ctx, "DELETE", `${OSS}/model-versions/delete`, { body: { name, version: str(a.version) } });
    if (failed(res, deleted)) return;
    await ctx.modelStorage.remove(name, String(a.version));
    res.json({});
  });
  // A name filter needs read access to that model; other filters list only readable models' versions.
  ucRoute(router, "get", "/model-versions/search", async (a, _req, res) => {
    const p = callerOf(res);
    let filter = str(a.filter);
    const named = filter ? NAME_FILTER.exec(filter) : null;
    if (filter && named) {
      const name = ucModelName(named[2]);
      await requireModel(ctx, p, name, "read", { allowMissing: true });
      filter = filter.replace(NAME_FILTER, `$1'${name}'`);
    }
    const found = await backingCall(ctx, "GET", `${OSS}/model-versions/search`, {
      query: { filter, max_results: str(a.max_results), page_token: str(a.page_token) },
    });
    if (failed(res, found)) return;
    const owners = new Map<string, string | undefined>();
    const readable: Json[] = [];
    for (const v of (found.json.model_versions as Json[] | undefined) ?? []) {
      const name = String(v.name);
      if (!owners.has(name)) owners.set(name, (await modelRef(ctx, name))?.owner);
      const owner = owners.get(name);
      if (owner !== undefined && mayRead(ctx, p, name, owner)) readable.push(v);
    }
    res.json({ model_versions: readable.map((v) => ucModelVersion(v, location)), next_page_token: found.json.next_page_token });
  });
  ucRoute(router, "get", "/model-versions/get-download-uri", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "read");
    const got = await ucVersion(ctx, name, String(a.version));
    if (failed(res, got.result)) return;
    res.json({ artifact_uri: location(name, String(a.version)) });
  });
  ucRoute(router, "post", "/model-versions/generate-temporary-credentials", async (a, _req, res) => {
    const name = ucModelName(a.name);
    const write = a.operation === "MODEL_VERSION_OPERATION_READ_WRITE";
    await requireModel(ctx, callerOf(res), name, write ? "owner" : "read");
    const version = String(a.version);
    const got = await ucVersion(ctx, name, version);
    if (failed(res, got.result)) return;
    if (write && got.mv?.status === "READY") throw immutable(name, version);
    const operation = write ? "MODEL_VERSION_OPERATION_READ_WRITE" : "MODEL_VERSION_OPERATION_READ";
    res.json({ credentials: await ctx.modelStorage.temporaryCredentials(name, version, operation) });
  });
  ucRoute(router, "post", "/model-versions/finalize", async (a, _req, res) => {
    const name = ucModelName(a.name);
    await requireModel(ctx, callerOf(res), name, "owner");
    const version = String(a.version);
    const cleared = await backingCall(ctx, "DELETE", `${OSS}/model-versions/delete-tag`, { body: { name, version, key: TAG_STATUS } });
    if (failed(res, cleared)) return;
    await sendVersion(res, name, version);
  });
  ucRoute(router, "post", "/model-versions/emit-lineage", async (a, _req, res) => {
    await requireModel(ctx, callerOf(res), ucModelName(a.name), "read");
    res.json({});
  });
  return router;
}
