// The v4 trace search MLflow's Databricks tracing store calls first
// (mlflow/store/tracking/databricks_rest_store.py, search_traces): POST
// /api/4.0/mlflow/traces/search-long-running starts an operation, then GET
// /api/4.0/mlflow/traces/search/operations/{name} is polled (every second)
// until it is done. MLflow falls back to the v3 search only when the first call
// answers ENDPOINT_NOT_FOUND (or "locations not yet supported"), so a
// workspace that serves v4 must be answered here, in the shapes of
// mlflow/protos/databricks_tracing.proto (SearchTracesOperation,
// mlflow.databricks.TraceInfo: the v3 TraceInfo without request/response).
// Experiment locations are searched in the backing server; Unity Catalog
// locations need a SQL warehouse, which this workspace does not have.

import { randomUUID } from "node:crypto";
import express, { type Request, type Response, type Router } from "express";
import { backingCall } from "./backing-client.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { refusing, sendDatabricksError } from "./errors.js";
import { toDatabricksTraceUris } from "./trace-data.js";
import { WorkspaceRefusal } from "./workspace-tree.js";

type Json = Record<string, unknown>;
const PREFIX = "/api/4.0/mlflow/traces";
/** Finished operations are kept this long for their poller, then forgotten. */
const OPERATION_TTL_MS = 10 * 60 * 1000;

interface Operation {
  name: string;
  owner: string;
  createdAt: number;
  /** What every poll answers: the search ran when the operation started. */
  answer: Json;
}

/** v3 TraceInfo JSON -> mlflow.databricks.TraceInfo JSON (the v4 message has no request/response). */
function v4TraceInfo(info: Json): Json {
  const kept = Object.fromEntries(Object.entries(info).filter(([key]) => key !== "request" && key !== "response"));
  // Data locations in Databricks' form (trace-data.ts).
  return JSON.parse(toDatabricksTraceUris(JSON.stringify(kept))) as Json;
}

function experimentIdsOf(locations: unknown): string[] {
  if (!Array.isArray(locations) || locations.length === 0) {
    throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", "At least one location must be specified for searching traces.");
  }
  return locations.map((raw: Json) => {
    const experimentId = (raw.mlflow_experiment as Json | undefined)?.experiment_id;
    if (raw.uc_schema !== undefined || raw.uc_table_prefix !== undefined || raw.type === "UC_SCHEMA" || raw.type === "UC_TABLE_PREFIX") {
      // The phrase MLflow recognises to tell the user to set MLFLOW_TRACING_SQL_WAREHOUSE_ID.
      throw new WorkspaceRefusal(
        400,
        "INVALID_PARAMETER_VALUE",
        "Could not resolve a SQL warehouse ID for searching traces in Unity Catalog tables.",
      );
    }
    if (typeof experimentId !== "string" || experimentId === "") {
      throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", `Invalid trace location: ${JSON.stringify(raw).slice(0, 200)}`);
    }
    return experimentId;
  });
}

export function tracesV4Router(ctx: EmulatorContext): Router {
  const router = express.Router();
  const operations = new Map<string, Operation>();
  const forget = (now: number): void => {
    for (const [name, op] of operations) if (now - op.createdAt > OPERATION_TTL_MS) operations.delete(name);
  };

  const start = async (req: Request, res: Response): Promise<void> => {
    const p = callerOf(res);
    const body = (req.body ?? {}) as Json;
    const experimentIds = experimentIdsOf(body.locations);
    for (const id of experimentIds) await ctx.experiments.require(p, id, "CAN_READ");
    const found = await backingCall(ctx, "POST", "/api/3.0/mlflow/traces/search", {
      body: {
        locations: experimentIds.map((experiment_id) => ({ type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id } })),
        filter: body.filter,
        max_results: body.max_results,
        order_by: body.order_by,
        page_token: body.page_token,
      },
    });
    const now = Date.now();
    forget(now);
    const name = randomUUID();
    const answer: Json =
      found.status === 200
        ? {
            name,
            done: true,
            response: {
              trace_infos: ((found.json.traces as Json[] | undefined) ?? []).map(v4TraceInfo),
              ...(found.json.next_page_token ? { next_page_token: found.json.next_page_token } : {}),
            },
          }
        : { name, done: true, error: { error_code: found.json.error_code ?? "INTERNAL_ERROR", message: found.json.message ?? "" } };
    operations.set(name, { name, owner: p.id, createdAt: now, answer });
    // A long-running search is never done in its first answer: clients must poll.
    res.json({ name, done: false, metadata: { start_time: new Date(now).toISOString() } });
  };

  const poll = (req: Request, res: Response): void => {
    const op = operations.get(String(req.params.name));
    // Another principal's operation is as unknown as a made-up one.
    if (!op || op.owner !== callerOf(res).id) {
      sendDatabricksError(res, 404, "RESOURCE_DOES_NOT_EXIST", `Operation ${String(req.params.name)} does not exist.`);
      return;
    }
    res.json(op.answer);
  };

  router.post(`${PREFIX}/search-long-running`, express.json({ type: () => true }), refusing(start));
  router.get(`${PREFIX}/search/operations/:name`, refusing(poll));
  return router;
}
