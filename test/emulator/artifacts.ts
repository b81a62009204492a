// MLflow's Databricks-only artifact endpoints. DatabricksArtifactRepository
// (the fallback when the SDK/Files API path fails, or when
// MLFLOW_DISABLE_DATABRICKS_SDK_FOR_RUN_ARTIFACTS is set) asks for signed URLs
// per file and lists through ListArtifacts; the open-source server cannot
// answer these for dbfs:/ locations, so the emulator serves them from its own
// storage, addressing the same workspace paths the Files API uses.
// "Experiment permissions automatically apply to artifacts": reading needs
// CAN_READ on the run's or model's experiment, writing CAN_EDIT, refused as
// "User <u> does not have permission to 'View' experiment with id <id>"
// (docs.databricks.com/en/mlflow/experiments-acl.html; docs.azure.cn
// .../kb/machine-learning/mlflow-artifacts-permission-denied).

import express, { type Request, type Response, type Router } from "express";
import { loggedModelArtifactUri, relayError, runArtifactUri } from "./backing-client.js";
import { joinArtifactPath, relativeTo, toDatabricksLoggedModelUris, workspacePathForTrackingUri } from "./artifact-paths.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { sendDatabricksError } from "./errors.js";
import { WorkspaceRefusal } from "./workspace-tree.js";

const CREDENTIAL_TYPE = "AWS_PRESIGNED_URL";

interface ArtifactRoot {
  uri: string;
  workspacePath: string;
}

type Access = "CAN_READ" | "CAN_EDIT";

/** Checks the caller's level on the experiment of a run or logged model; false once a refusal is answered. */
async function mayAccess(ctx: EmulatorContext, res: Response, kind: "run" | "model", id: string, access: Access): Promise<boolean> {
  const experimentId = await ctx.experiments.experimentOf(kind, id);
  // An unknown run or model is reported by the lookup of its artifact root.
  if (experimentId === undefined) return true;
  try {
    await ctx.experiments.require(callerOf(res), experimentId, access);
    return true;
  } catch (err) {
    if (!(err instanceof WorkspaceRefusal)) throw err;
    sendDatabricksError(res, err.status, err.errorCode, err.message);
    return false;
  }
}

/** Resolves a run's artifact root, or answers the error and returns undefined. */
async function runRoot(ctx: EmulatorContext, runId: unknown, res: Response, access: Access): Promise<ArtifactRoot | undefined> {
  if (typeof runId !== "string" || runId === "") {
    sendDatabricksError(res, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.");
    return undefined;
  }
  if (!(await mayAccess(ctx, res, "run", runId, access))) return undefined;
  const result = await runArtifactUri(ctx, runId);
  if (!result.uri) {
    relayError(res, result);
    return undefined;
  }
  const workspacePath = workspacePathForTrackingUri(result.uri);
  if (!workspacePath) {
    sendDatabricksError(res, 400, "INVALID_PARAMETER_VALUE", `Run ${runId} has a non-Databricks artifact location.`);
    return undefined;
  }
  return { uri: result.uri, workspacePath };
}

async function modelRoot(ctx: EmulatorContext, modelId: string, res: Response, access: Access): Promise<ArtifactRoot | undefined> {
  if (!(await mayAccess(ctx, res, "model", modelId, access))) return undefined;
  const result = await loggedModelArtifactUri(ctx, modelId);
  const workspacePath = result.uri ? workspacePathForTrackingUri(result.uri) : undefined;
  if (!result.uri || !workspacePath) {
    relayError(res, result);
    return undefined;
  }
  return { uri: toDatabricksLoggedModelUris(result.uri), workspacePath };
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string") return [value];
  return [];
}

function credential(ctx: EmulatorContext, res: Response, root: ArtifactRoot, rel: string, op: "r" | "w"): Record<string, unknown> {
  return {
    path: rel,
    signed_uri: ctx.blobs.signUrl(joinArtifactPath(root.workspacePath, rel), op, { signer: callerOf(res).id }),
    type: CREDENTIAL_TYPE,
    headers: [],
  };
}

/** ListArtifacts semantics: children of a directory, or the file itself. */
async function listFiles(ctx: EmulatorContext, root: ArtifactRoot, rel: string): Promise<Record<string, unknown>[]> {
  const target = joinArtifactPath(root.workspacePath, rel);
  const s = await ctx.blobs.stat(target);
  if (!s) return [];
  if (!s.isDir) return [{ path: rel, is_dir: false, file_size: s.size }];
  const entries = (await ctx.blobs.list(target)) ?? [];
  return entries.map((e) => ({
    path: relativeTo(root.workspacePath, e.path),
    is_dir: e.isDir,
    ...(e.isDir ? {} : { file_size: e.size }),
  }));
}

export function artifactsRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const json = express.json();
  type Handler = (req: Request, res: Response) => Promise<void>;
  const wrap = (fn: Handler) => (req: Request, res: Response, next: (err?: unknown) => void) => {
    fn(req, res).catch(next);
  };

  for (const [suffix, op] of [
    ["credentials-for-read", "r"],
    ["credentials-for-write", "w"],
  ] as const) {
    router.post(
      `/api/2.0/mlflow/artifacts/${suffix}`,
      json,
      wrap(async (req, res) => {
        const body = (req.body ?? {}) as Record<string, unknown>;
        const root = await runRoot(ctx, body.run_id, res, op === "r" ? "CAN_READ" : "CAN_EDIT");
        if (!root) return;
        const infos = asList(body.path).map((rel) => ({ run_id: body.run_id, ...credential(ctx, res, root, rel, op) }));
        res.json({ credential_infos: infos });
      }),
    );
  }

  router.get(
    "/api/2.0/mlflow/artifacts/list",
    wrap(async (req, res) => {
      const root = await runRoot(ctx, req.query.run_id ?? req.query.run_uuid, res, "CAN_READ");
      if (!root) return;
      const rel = typeof req.query.path === "string" ? req.query.path : "";
      const files = await listFiles(ctx, root, rel);
      res.json(files.length > 0 ? { root_uri: root.uri, files } : { root_uri: root.uri });
    }),
  );

  for (const [suffix, op] of [
    ["credentials-for-download", "r"],
    ["credentials-for-upload", "w"],
  ] as const) {
    router.post(
      `/api/2.0/mlflow/logged-models/:modelId/artifacts/${suffix}`,
      json,
      wrap(async (req, res) => {
        const modelId = String(req.params.modelId);
        const root = await modelRoot(ctx, modelId, res, op === "r" ? "CAN_READ" : "CAN_EDIT");
        if (!root) return;
        const body = (req.body ?? {}) as Record<string, unknown>;
        const credentials = asList(body.paths).map((rel) => ({
          model_id: modelId,
          credential_info: credential(ctx, res, root, rel, op),
        }));
        res.json({ credentials });
      }),
    );
  }

  router.get(
    "/api/2.0/mlflow/logged-models/:modelId/artifacts/directories",
    wrap(async (req, res) => {
      const root = await modelRoot(ctx, String(req.params.modelId), res, "CAN_READ");
      if (!root) return;
      const rel = typeof req.query.artifact_directory_path === "string" ? req.query.artifact_directory_path : "";
      const files = await listFiles(ctx, root, rel);
      res.json(files.length > 0 ? { root_uri: root.uri, files } : { root_uri: root.uri });
    }),
  );

  // Multipart uploads only start above MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE (500 MB).
  for (const name of ["create-multipart-upload", "complete-multipart-upload", "get-presigned-upload-part-url"]) {
    router.all(`/api/2.0/mlflow/artifacts/${name}`, (_req, res) =>
      sendDatabricksError(res, 501, "NOT_IMPLEMENTED", "Multipart artifact uploads are not emulated."),
    );
  }

  return router;
}

/** Workspace root of a run's artifacts, for the test helpers. */
export async function runArtifactRoot(ctx: EmulatorContext, runId: string): Promise<string> {
  const result = await runArtifactUri(ctx, runId);
  const path = result.uri ? workspacePathForTrackingUri(result.uri) : undefined;
  if (!path) throw new Error(`run ${runId}: ${JSON.stringify(result.json)}`);
  return path;
}
