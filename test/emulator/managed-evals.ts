// The managed-evals dataset listing MLflow's Databricks tracking store calls for
// `search_datasets` (mlflow/store/tracking/databricks_rest_store.py,
// _fetch_datasets_page): GET /api/2.0/managed-evals/datasets with
// filter=experiment_id='<id>', page_size and page_token; answers
// {"datasets": [...], "next_page_token": ...} (_parse_datasets_from_response). On
// Databricks these are Agent Evaluation datasets, kept as Unity Catalog tables and
// created with databricks-agents; this workspace has no SQL warehouse or Agent
// Evaluation, so it holds none, and creating one is not emulated (the create route
// answers ENDPOINT_NOT_FOUND, which MLflow reports as "not available in this workspace").
// Listing needs CAN_READ on the experiment, like every experiment-scoped read.

import express, { type Request, type Response, type Router } from "express";
import { type EmulatorContext, callerOf } from "./context.js";
import { refusing } from "./errors.js";
import { WorkspaceRefusal } from "./workspace-tree.js";

const FILTER = /^experiment_id\s*=\s*'(\d{1,20})'$/;

export function managedEvalsRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  router.get(
    "/api/2.0/managed-evals/datasets",
    refusing(async (req: Request, res: Response) => {
      const filter = typeof req.query.filter === "string" ? req.query.filter.trim() : "";
      const pageSize = req.query.page_size;
      if (pageSize !== undefined && (typeof pageSize !== "string" || !/^\d{1,5}$/.test(pageSize))) {
        throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", `Invalid page_size: ${JSON.stringify(pageSize).slice(0, 40)}`);
      }
      if (filter !== "") {
        const match = FILTER.exec(filter);
        if (!match) throw new WorkspaceRefusal(400, "INVALID_PARAMETER_VALUE", `Unsupported filter: ${filter.slice(0, 200)}`);
        await ctx.experiments.require(callerOf(res), match[1] ?? "", "CAN_READ");
      }
      // Proto3 JSON leaves an empty list out.
      res.json({});
    }),
  );
  return router;
}
