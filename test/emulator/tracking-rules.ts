// What makes the forwarded MLflow tracking API a Databricks workspace's:
// - experiments are workspace objects: a name is an absolute workspace path
//   (a "/Workspace" prefix is dropped, as on create in a real workspace) whose
//   parent folder exists and is managed by the caller; nothing else may sit at
//   that path; ids are node ids; the backing server's "Default" (id 0) does not
//   exist; searches list only what the caller may read;
// - every call that touches an experiment, run, logged model or trace needs
//   CAN_READ on its experiment (reads) or CAN_EDIT (writes); deleting,
//   restoring or renaming an experiment needs CAN_MANAGE;
// - runs are owned by the authenticated caller, whatever user_id says.
// Sources: docs.databricks.com/en/mlflow/experiments-acl.html (abilities per
// level), mlflow#8269 / mlflow#6214 (invalid name message), dbdemos#155
// (parent directory message), mosaicml/composer#3410 (node already exists),
// terraform-provider-databricks mlflow/data_mlflow_experiment_test.go (get-by-name
// answers), databricks/cli acceptance bundle/resources/experiments (server tags,
// recorded against a real workspace). More in test/emulator/README.md.

import express, { type Request, type Response, type Router } from "express";
import { toDatabricksLoggedModelUris } from "./artifact-paths.js";
import { toDatabricksTraceUris } from "./trace-data.js";
import { backingCall, relayError } from "./backing-client.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { refusing, sendDatabricksError } from "./errors.js";
import { isWorkspaceExperiment } from "./experiment-access.js";
import type { Principal } from "./principals.js";
import { forward } from "./tracking-forward.js";
import { scalar } from "./uc-translate.js";
import { WorkspaceRefusal, atLeast, normalizePath, parentOf } from "./workspace-tree.js";

type Json = Record<string, unknown>;

const MOUNTS = ["/api/2.0/mlflow", "/api/2.1/mlflow", "/api/3.0/mlflow"];
/** Databricks' cap on experiments/search max_results (databricks-sdk service/ml.py, SearchExperiments). */
const SEARCH_MAX_RESULTS = 3000;
const SEARCH_DEFAULT_RESULTS = 1000;
/** Path segments after /traces/ and /logged-models/ that are actions, not ids. */
const ACTION_SEGMENTS = new Set([
  "search",
  "delete-traces",
  "batchGet",
  "batchGetInfos",
  "link-to-run",
  "get",
  "metrics",
  "calculate-filter-correlation",
]);
const READ_SUFFIX = /\/(search|get|get-by-name|batchGet|batchGetInfos|metrics|calculate-filter-correlation|get-history[a-z-]*|info)$/;

function invalidName(name: string): WorkspaceRefusal {
  return new WorkspaceRefusal(
    400,
    "INVALID_PARAMETER_VALUE",
    `Got an invalid experiment name '${name}'. An experiment name must be an absolute path within the Databricks workspace, e.g. '/Users/<some-username>/my-experiment'.`,
  );
}

/** The workspace path an experiment name stands for, or a refusal. A "/Workspace/..." name is stored without the prefix. */
export function experimentPath(raw: unknown): string {
  if (typeof raw !== "string" || raw === "")
    throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'.");
  const path = normalizePath(raw);
  if (path === undefined || path === "/") throw invalidName(raw);
  const stripped = path === "/Workspace" ? path : path.replace(/^\/Workspace(?=\/)/, "");
  return stripped;
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v) => typeof v === "string" || typeof v === "number").map(String);
  if (typeof value === "string" || typeof value === "number") return [String(value)];
  return [];
}

interface Refs {
  experiments: string[];
  runs: string[];
  models: string[];
  traces: string[];
}

/** Every experiment, run, logged model and trace a tracking call names, in its path, query or body. */
function refsOf(sub: string, args: Json): Refs {
  const refs: Refs = {
    experiments: [...asList(args.experiment_id), ...asList(args.experiment_ids)],
    runs: [...asList(args.run_id), ...asList(args.run_uuid)],
    models: asList(args.model_id),
    traces: [...asList(args.trace_id), ...asList(args.request_id)],
  };
  for (const loc of Array.isArray(args.locations) ? (args.locations as Json[]) : []) {
    refs.experiments.push(...asList((loc.mlflow_experiment as Json | undefined)?.experiment_id));
  }
  const traceInfo = ((args.trace as Json | undefined)?.trace_info ?? args.trace_info) as Json | undefined;
  const location = (traceInfo?.trace_location as Json | undefined)?.mlflow_experiment as Json | undefined;
  refs.experiments.push(...asList(location?.experiment_id));
  const segments = sub.split("/").filter(Boolean);
  if (segments[0] === "logged-models" && segments[1] && !ACTION_SEGMENTS.has(segments[1])) refs.models.push(decodeURIComponent(segments[1]));
  if (segments[0] === "traces" && segments[1] && !ACTION_SEGMENTS.has(segments[1])) refs.traces.push(decodeURIComponent(segments[1]));
  return refs;
}

async function checkRefs(ctx: EmulatorContext, p: Principal, refs: Refs, write: boolean): Promise<void> {
  const wanted = write ? "CAN_EDIT" : "CAN_READ";
  const experimentIds = new Set(refs.experiments);
  for (const [kind, ids] of [
    ["run", refs.runs],
    ["model", refs.models],
    ["trace", refs.traces],
  ] as const) {
    for (const id of ids) {
      const exp = await ctx.experiments.experimentOf(kind, id);
      // An unknown run/model/trace is the backing server's to report (RESOURCE_DOES_NOT_EXIST).
      if (exp !== undefined) experimentIds.add(exp);
    }
  }
  for (const id of experimentIds) await ctx.experiments.require(p, id, wanted);
}

/** Request fields: query string, then the JSON body. */
function argsOf(req: Request, body: Buffer): Json {
  let parsed: unknown = {};
  if (body.length > 0) {
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      parsed = {};
    }
  }
  return { ...(req.query as Json), ...(parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Json) : {}) };
}

function bodyOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

async function createExperiment(ctx: EmulatorContext, p: Principal, args: Json, req: Request, res: Response): Promise<void> {
  const name = experimentPath(args.name);
  ctx.workspace.checkCreateIn(p, parentOf(name));
  if (ctx.workspace.folder(name) || (await ctx.experiments.byName(name))) {
    throw new WorkspaceRefusal(400, "RESOURCE_ALREADY_EXISTS", `Node named ${name} already exists`);
  }
  // Tags a workspace adds to every new experiment (databricks/cli acceptance
  // bundle/resources/experiments/basic, recorded against a real workspace).
  const given = Array.isArray(args.tags) ? (args.tags as Json[]).filter((t) => !String(t.key).startsWith("mlflow.owner")) : [];
  const tags = [
    ...given,
    { key: "mlflow.ownerId", value: p.id },
    { key: "mlflow.ownerEmail", value: p.name },
    { key: "mlflow.experiment.sourceName", value: name },
    { key: "mlflow.experimentType", value: "MLFLOW_EXPERIMENT" },
  ];
  // The workspace assigns the id; a client-sent experiment_id is dropped.
  const rest = Object.fromEntries(Object.entries(args).filter(([key]) => key !== "experiment_id"));
  forward(ctx, req, res, { body: Buffer.from(JSON.stringify({ ...rest, name, tags })), url: req.originalUrl.split("?")[0] ?? req.originalUrl });
}

async function renameExperiment(ctx: EmulatorContext, p: Principal, args: Json, req: Request, res: Response): Promise<void> {
  const id = scalar(args.experiment_id);
  const exp = await ctx.experiments.require(p, id, "CAN_MANAGE");
  if (args.new_name === undefined) return forward(ctx, req, res, { body: bodyOf(req) });
  const name = experimentPath(args.new_name);
  if (name !== exp.name) {
    ctx.workspace.checkCreateIn(p, parentOf(name));
    if (ctx.workspace.folder(name) || (await ctx.experiments.byName(name))) {
      throw new WorkspaceRefusal(400, "RESOURCE_ALREADY_EXISTS", `Node named ${name} already exists`);
    }
  }
  const renamed = await backingCall(ctx, "POST", "/api/2.0/mlflow/experiments/update", { body: { experiment_id: id, new_name: name } });
  if (renamed.status !== 200) return relayError(res, renamed);
  // The workspace keeps mlflow.experiment.sourceName on the current path (databricks/cli
  // acceptance bundle/resources/experiments/basic, recorded against a real workspace:
  // the tag follows a rename).
  const tagged = await backingCall(ctx, "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", {
    body: { experiment_id: id, key: "mlflow.experiment.sourceName", value: name },
  });
  if (tagged.status !== 200) return relayError(res, tagged);
  res.json({});
}

async function getByName(ctx: EmulatorContext, p: Principal, args: Json, req: Request, res: Response): Promise<void> {
  const raw = typeof args.experiment_name === "string" ? args.experiment_name : "";
  // A name that is not a workspace path names nothing (terraform-provider-databricks
  // TestDataSourceExperimentInvalidPath: 404 RESOURCE_DOES_NOT_EXIST). Unlike create,
  // get-by-name does not drop a /Workspace prefix (mlflow#11077).
  if (!raw.startsWith("/")) throw new WorkspaceRefusal(404, "RESOURCE_DOES_NOT_EXIST", invalidName(raw).message);
  const exp = await ctx.experiments.byName(raw);
  if (!exp) throw new WorkspaceRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Node ${raw} does not exist.`);
  await ctx.experiments.require(p, exp.id, "CAN_READ");
  forward(ctx, req, res, { body: bodyOf(req) });
}

/** The caller's readable workspace experiments, paged by the emulator (the backing server's pages would leak hidden ones). */
async function searchExperiments(ctx: EmulatorContext, p: Principal, args: Json, res: Response): Promise<void> {
  const requested = Number(args.max_results ?? SEARCH_DEFAULT_RESULTS);
  if (!Number.isInteger(requested) || requested < 1 || requested > SEARCH_MAX_RESULTS) {
    throw new WorkspaceRefusal(
      400,
      "INVALID_PARAMETER_VALUE",
      `Invalid value ${String(args.max_results)} for parameter 'max_results' supplied. It must be between 1 and ${SEARCH_MAX_RESULTS}.`,
    );
  }
  const offset =
    args.page_token === undefined || args.page_token === "" ? 0 : Number(Buffer.from(scalar(args.page_token), "base64url").toString("utf8"));
  if (!Number.isInteger(offset) || offset < 0) throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", "Invalid page token.");
  const filter = [typeof args.filter === "string" && args.filter.trim() ? args.filter : undefined, "name LIKE '/%'"].filter(Boolean).join(" AND ");
  const all: Json[] = [];
  let token: string | undefined;
  do {
    const page = await backingCall(ctx, "POST", "/api/2.0/mlflow/experiments/search", {
      body: { filter, max_results: 1000, order_by: asList(args.order_by), view_type: args.view_type, page_token: token },
    });
    if (page.status !== 200) {
      sendDatabricksError(res, page.status, scalar(page.json.error_code) || "INTERNAL_ERROR", scalar(page.json.message));
      return;
    }
    all.push(...((page.json.experiments as Json[] | undefined) ?? []));
    token = typeof page.json.next_page_token === "string" && page.json.next_page_token ? page.json.next_page_token : undefined;
  } while (token !== undefined);
  const visible = all.filter(
    (e) => isWorkspaceExperiment(e.name) && atLeast(ctx.workspace.levelOn(p, String(e.name), String(e.experiment_id)), "CAN_READ"),
  );
  const page = visible.slice(offset, offset + requested);
  const next = offset + requested < visible.length ? Buffer.from(String(offset + requested)).toString("base64url") : undefined;
  res.json({ experiments: page, ...(next ? { next_page_token: next } : {}) });
}

async function handle(ctx: EmulatorContext, req: Request, res: Response): Promise<void> {
  const p = callerOf(res);
  const body = bodyOf(req);
  const args = argsOf(req, body);
  const sub = req.path;
  const write = req.method !== "GET" && !READ_SUFFIX.test(sub);
  switch (sub) {
    case "/experiments/create":
      return createExperiment(ctx, p, args, req, res);
    case "/experiments/update":
      return renameExperiment(ctx, p, args, req, res);
    case "/experiments/delete":
    case "/experiments/restore":
      await ctx.experiments.require(p, scalar(args.experiment_id), "CAN_MANAGE");
      return forward(ctx, req, res, { body });
    case "/experiments/get-by-name":
      return getByName(ctx, p, args, req, res);
    case "/experiments/search":
      return searchExperiments(ctx, p, args, res);
    case "/runs/create": {
      await checkRefs(ctx, p, refsOf(sub, args), true);
      // Databricks records the authenticated caller as the run's owner, whatever user_id the client sent.
      return forward(ctx, req, res, {
        body: Buffer.from(JSON.stringify({ ...args, user_id: p.name })),
        url: req.originalUrl.split("?")[0] ?? req.originalUrl,
      });
    }
    default: {
      await checkRefs(ctx, p, refsOf(sub, args), write);
      const rewrite = sub.startsWith("/logged-models") ? toDatabricksLoggedModelUris : sub.startsWith("/traces") ? toDatabricksTraceUris : undefined;
      return forward(ctx, req, res, { body, ...(rewrite ? { rewrite } : {}) });
    }
  }
}

export function trackingRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  // Buffered: the rules read ids from the body. Tracking bodies are small (log-batch
  // is capped at 1000 metrics); artifacts never travel through these routes.
  const raw = express.raw({ type: () => true, limit: "50mb" });
  router.use(
    MOUNTS,
    raw,
    refusing((req, res) => handle(ctx, req, res)),
  );
  return router;
}
