// Unity Catalog model registry (/api/2.0/mlflow/unity-catalog/...), as
// MLflow's UcModelRegistryStore and UnityCatalogModelsArtifactRepository call
// it. Three-level names (catalog.schema.model) are used unchanged as
// open-source registered model names; model version files live at
// /Models/<catalog>/<schema>/<model>/<version> in the emulator's storage and
// are reached through presigned URLs (DEFAULT_STORAGE) or the Files API.

import express, { type Request, type Response, type Router } from "express";
import { type BackingResult, backingCall, relayError } from "./backing-client.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { sendDatabricksError } from "./errors.js";
import {
  TAG_MODEL_ID,
  TAG_RUN_EXPERIMENT,
  TAG_STATUS,
  TAG_TRACKING_SERVER,
  TAG_USER,
  threeLevelNameError,
  ucModelVersion,
  scalar,
  ucRegisteredModel,
  withReservedTags,
} from "./uc-translate.js";

type Json = Record<string, unknown>;
const UC = "/api/2.0/mlflow/unity-catalog";
const OSS = "/api/2.0/mlflow";

/** Request fields: JSON body for writes, query string for GETs (as MLflow sends them). */
function args(req: Request): Json {
  const body = req.body && typeof req.body === "object" ? (req.body as Json) : {};
  return { ...(req.query as Json), ...body };
}

function str(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : scalar(value);
}

/** Answers a failed backing call; true when the caller should stop. */
function failed(res: Response, result: BackingResult): boolean {
  if (result.status === 200) return false;
  relayError(res, result);
  return true;
}

export function unityCatalogRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const location = (name: string, version: string): string => ctx.modelStorage.storageLocation(name, version);
  router.use(UC, express.json({ type: () => true }));
  type Handler = (a: Json, req: Request, res: Response) => Promise<void>;
  const route = (method: "get" | "post" | "patch" | "delete", path: string, fn: Handler): void => {
    router[method](`${UC}${path}`, (req, res, next) => {
      fn(args(req), req, res).catch(next);
    });
  };
  const named = (a: Json, res: Response): string | undefined => {
    const error = threeLevelNameError(a.name);
    if (error) sendDatabricksError(res, 400, "INVALID_PARAMETER_VALUE", error);
    return error ? undefined : String(a.name);
  };
  const getVersion = (name: string, version: string): Promise<BackingResult> =>
    backingCall(ctx, "GET", `${OSS}/model-versions/get`, { query: { name, version } });
  const sendVersion = async (res: Response, name: string, version: string): Promise<void> => {
    const got = await getVersion(name, version);
    if (failed(res, got)) return;
    res.json({ model_version: ucModelVersion(got.json.model_version as Json, location) });
  };
  const sendModel = async (res: Response, name: string): Promise<void> => {
    const got = await backingCall(ctx, "GET", `${OSS}/registered-models/get`, { query: { name } });
    if (failed(res, got)) return;
    res.json({ registered_model: ucRegisteredModel(got.json.registered_model as Json) });
  };

  // ---- registered models ----
  route("post", "/registered-models/create", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
    const tags = withReservedTags(a.tags, { [TAG_USER]: callerOf(res).name });
    const created = await backingCall(ctx, "POST", `${OSS}/registered-models/create`, {
      body: { name, description: a.description, tags },
    });
    if (failed(res, created)) return;
    res.json({ registered_model: ucRegisteredModel(created.json.registered_model as Json) });
  });
  route("get", "/registered-models/get", async (a, _req, res) => {
    const name = named(a, res);
    if (name) await sendModel(res, name);
  });
  route("get", "/registered-models/search", async (a, _req, res) => {
    const found = await backingCall(ctx, "GET", `${OSS}/registered-models/search`, {
      query: { max_results: str(a.max_results), page_token: str(a.page_token) },
    });
    if (failed(res, found)) return;
    const models = (found.json.registered_models as Json[] | undefined) ?? [];
    res.json({ registered_models: models.map(ucRegisteredModel), next_page_token: found.json.next_page_token });
  });
  route("patch", "/registered-models/update", async (a, _req, res) => {
    let name = named(a, res);
    if (!name) return;
    if (typeof a.new_name === "string" && a.new_name !== name) {
      const error = threeLevelNameError(a.new_name);
      if (error) return sendDatabricksError(res, 400, "INVALID_PARAMETER_VALUE", error);
      const renamed = await backingCall(ctx, "POST", `${OSS}/registered-models/rename`, {
        body: { name, new_name: a.new_name },
      });
      if (failed(res, renamed)) return;
      name = a.new_name;
    }
    if (a.description !== undefined) {
      const updated = await backingCall(ctx, "PATCH", `${OSS}/registered-models/update`, {
        body: { name, description: a.description },
      });
      if (failed(res, updated)) return;
    }
    await sendModel(res, name);
  });
  route("delete", "/registered-models/delete", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
    const deleted = await backingCall(ctx, "DELETE", `${OSS}/registered-models/delete`, { body: { name } });
    if (failed(res, deleted)) return;
    await ctx.modelStorage.remove(name);
    res.json({});
  });
  for (const [path, method, ossPath] of [
    ["/registered-models/set-tag", "post", "/registered-models/set-tag"],
    ["/registered-models/delete-tag", "delete", "/registered-models/delete-tag"],
    ["/registered-models/alias", "post", "/registered-models/alias"],
    ["/registered-models/alias", "delete", "/registered-models/alias"],
    ["/model-versions/set-tag", "post", "/model-versions/set-tag"],
    ["/model-versions/delete-tag", "delete", "/model-versions/delete-tag"],
  ] as const) {
    route(method, path, async (a, _req, res) => {
      if (!named(a, res)) return;
      const ossMethod = method === "post" ? "POST" : "DELETE";
      const result = await backingCall(ctx, ossMethod, `${OSS}${ossPath}`, { body: a });
      if (failed(res, result)) return;
      res.json({});
    });
  }
  route("get", "/registered-models/alias", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
    const got = await backingCall(ctx, "GET", `${OSS}/registered-models/alias`, { query: { name, alias: str(a.alias) } });
    if (failed(res, got)) return;
    res.json({ model_version: ucModelVersion(got.json.model_version as Json, location) });
  });

  // ---- model versions ----
  route("post", "/model-versions/create", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
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
  route("get", "/model-versions/get", async (a, _req, res) => {
    const name = named(a, res);
    if (name) await sendVersion(res, name, String(a.version));
  });
  route("patch", "/model-versions/update", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
    const body = { name, version: str(a.version), description: a.description };
    const updated = await backingCall(ctx, "PATCH", `${OSS}/model-versions/update`, { body });
    if (failed(res, updated)) return;
    await sendVersion(res, name, String(a.version));
  });
  route("delete", "/model-versions/delete", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
    const body = { name, version: str(a.version) };
    const deleted = await backingCall(ctx, "DELETE", `${OSS}/model-versions/delete`, { body });
    if (failed(res, deleted)) return;
    await ctx.modelStorage.remove(name, String(a.version));
    res.json({});
  });
  route("get", "/model-versions/search", async (a, _req, res) => {
    const found = await backingCall(ctx, "GET", `${OSS}/model-versions/search`, {
      query: { filter: str(a.filter), max_results: str(a.max_results), page_token: str(a.page_token) },
    });
    if (failed(res, found)) return;
    const versions = (found.json.model_versions as Json[] | undefined) ?? [];
    res.json({
      model_versions: versions.map((v) => ucModelVersion(v, location)),
      next_page_token: found.json.next_page_token,
    });
  });
  route("get", "/model-versions/get-download-uri", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
    const got = await getVersion(name, String(a.version));
    if (failed(res, got)) return;
    res.json({ artifact_uri: location(name, String(a.version)) });
  });
  route("post", "/model-versions/generate-temporary-credentials", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
    const got = await getVersion(name, String(a.version));
    if (failed(res, got)) return;
    const mv = ucModelVersion(got.json.model_version as Json, location);
    if (a.operation === "MODEL_VERSION_OPERATION_READ_WRITE" && mv.status === "READY") {
      // Files of a finalized version are immutable in Unity Catalog.
      return sendDatabricksError(
        res,
        400,
        "INVALID_PARAMETER_VALUE",
        `Model version ${name}/${String(a.version)} is READY; its files can no longer be written.`,
      );
    }
    const operation = a.operation === "MODEL_VERSION_OPERATION_READ_WRITE" ? "MODEL_VERSION_OPERATION_READ_WRITE" : "MODEL_VERSION_OPERATION_READ";
    res.json({ credentials: await ctx.modelStorage.temporaryCredentials(name, String(a.version), operation) });
  });
  route("post", "/model-versions/finalize", async (a, _req, res) => {
    const name = named(a, res);
    if (!name) return;
    const version = String(a.version);
    const cleared = await backingCall(ctx, "DELETE", `${OSS}/model-versions/delete-tag`, {
      body: { name, version, key: TAG_STATUS },
    });
    if (failed(res, cleared)) return;
    await sendVersion(res, name, version);
  });
  route("post", "/model-versions/emit-lineage", (a, _req, res) => {
    if (named(a, res)) res.json({});
    return Promise.resolve();
  });
  router.get(/^\/api\/2\.0\/mlflow\/unity-catalog\/registered-models:is-databricks-sdk-models-artifact-repository-enabled$/, (_req, res) => {
    res.json({ is_databricks_sdk_models_artifact_repository_enabled: ctx.ucModelArtifacts === "sdk" });
  });

  return router;
}
