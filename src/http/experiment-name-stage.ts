import type { IncomingMessage as Request, ServerResponse as Response } from "node:http";
import { ensureExperimentFolder } from "../databricks/experiment-folder.js";
import { parentFolder, resolveExperimentName } from "../databricks/experiment-names.js";
import type { WorkspaceClient } from "../databricks/workspace-client.js";
import type { Logger } from "../log/create-logger.js";
import type { Next as NextFunction } from "./pipeline.js";
import { contextOf, jsonBodyOf, replaceJsonBody } from "../request/request-context.js";

export interface ExperimentNamesDependencies {
  /** The service principal's client; undefined in local mode, where names are free. */
  workspace: WorkspaceClient | undefined;
  /** GATEWAY_EXPERIMENT_ROOT. */
  root: string | undefined;
  logger: Logger;
}

/** Response header that tells a client where its plain-named experiment was filed. */
export const EXPERIMENT_PATH_HEADER = "X-MLflow-Experiment-Path";

/**
 * Databricks mode: an experiment named without a workspace path ("churn-model", as the
 * UI's "Create experiment" dialog and most scripts send it) is filed under the root
 * folder (databricks/experiment-names.ts), whose folder the service principal creates
 * when missing. Applies to creating, renaming and looking up by name, so
 * `mlflow.set_experiment("churn-model")` finds what it created. Paths pass unchanged.
 */
export function experimentNames(deps: ExperimentNamesDependencies) {
  return function experimentNames(req: Request, res: Response, next: NextFunction): void {
    const { workspace, root } = deps;
    if (workspace === undefined || root === undefined) return next();
    const operation = contextOf(req).route?.route.operation;
    if (operation === "GetExperimentByName") return next(mapQuery(req, res, root));
    if (operation !== "CreateExperiment" && operation !== "UpdateExperiment") return next();
    const field = operation === "CreateExperiment" ? "name" : "new_name";
    mapBody(req, res, deps, workspace, root, field).then(() => next(), next);
  };
}

function mapQuery(req: Request, res: Response, root: string): unknown {
  const url = new URL(req.url ?? "/", "http://gateway.invalid");
  const name = url.searchParams.get("experiment_name");
  if (name === null) return undefined;
  try {
    const resolved = resolveExperimentName(name, root, "experiment_name");
    if (!resolved.mapped) return undefined;
    url.searchParams.set("experiment_name", resolved.path);
    req.url = `${url.pathname}?${url.searchParams.toString()}`;
    res.setHeader(EXPERIMENT_PATH_HEADER, encodeURI(resolved.path));
    return undefined;
  } catch (error) {
    return error;
  }
}

async function mapBody(
  req: Request,
  res: Response,
  deps: ExperimentNamesDependencies,
  workspace: WorkspaceClient,
  root: string,
  field: string,
): Promise<void> {
  const body = await jsonBodyOf(req);
  // An update without a new name (e.g. only tags) has nothing to map.
  if (field === "new_name" && body[field] === undefined) return;
  const resolved = resolveExperimentName(body[field], root, field);
  if (!resolved.mapped) return;
  await ensureExperimentFolder(workspace, parentFolder(resolved.path));
  replaceJsonBody(req, { ...body, [field]: resolved.path });
  res.setHeader(EXPERIMENT_PATH_HEADER, encodeURI(resolved.path));
  deps.logger.info("experiment name filed under the experiment root", {
    requestId: contextOf(req).requestId,
    name: String(body[field]).slice(0, 200),
    path: resolved.path,
  });
}
