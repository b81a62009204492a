// Trace data as a Databricks workspace keeps it for MLflow 3.17.2's clients.
//
// Location: MLflow's Databricks code expects a trace's data location (the TraceInfo tag
// mlflow.artifactLocation) to carry the trace id where a run id would be,
// dbfs:/databricks/mlflow-tracking/<exp>/<trace id>/artifacts:
// databricks_artifact_repo.py _extract_resource routes a `tr-` fourth segment to _Trace,
// and databricks_run_artifact_repo.py (is_run_uri) and _extract_run_id skip it. The
// backing open-source server files it under <exp>/traces/<trace id>/artifacts, so every
// trace answer is rewritten to the Databricks form (toDatabricksTraceUris).
//
// Bytes: _Trace.get_credentials (databricks_artifact_repo_resources.py) calls
// GET /api/2.0/mlflow/traces/{request_id}/credentials-for-data-upload|download
// (DatabricksMlflowArtifactsService in databricks_artifacts.proto) and reads
// credential_info {signed_uri, type, headers}; the client then PUTs or GETs traces.json at
// the signed URL (DatabricksArtifactRepository.upload_trace_data / download_trace_data).
// The signed URLs point into the emulator's blob storage (AWS_PRESIGNED_URL, as for run
// artifacts in artifacts.ts). "Experiment permissions automatically apply to artifacts":
// upload needs CAN_EDIT on the trace's experiment, download CAN_READ
// (docs.databricks.com/en/mlflow/experiments-acl.html); an unknown trace is
// RESOURCE_DOES_NOT_EXIST, as the backing server reports it.

import express, { type Request, type Response, type Router } from "express";
import { backingCall } from "./backing-client.js";
import { normalizeWorkspacePath } from "./blob-store.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { refusing, sendDatabricksError } from "./errors.js";

const TRACE_DATA_FILE = "traces.json";

/** The backing server's <exp>/traces/<id>/artifacts -> Databricks' <exp>/<id>/artifacts, in any answer text. */
export function toDatabricksTraceUris(text: string): string {
  return text.replace(/(dbfs:\/databricks\/mlflow-tracking\/[^/"\s]+)\/traces\/(tr-[A-Za-z0-9_-]+)\/artifacts/g, "$1/$2/artifacts");
}

/** Where the emulator keeps a trace's data: beside the experiment's run artifacts, under the trace's id. */
export function traceDataPath(experimentId: string, traceId: string): string {
  return normalizeWorkspacePath(`/WorkspaceInternal/Mlflow/Artifacts/${experimentId}/Traces/${traceId}/artifacts/${TRACE_DATA_FILE}`);
}

export function traceDataRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  for (const [direction, op, level] of [
    ["upload", "w", "CAN_EDIT"],
    ["download", "r", "CAN_READ"],
  ] as const) {
    router.get(
      `/api/2.0/mlflow/traces/:requestId/credentials-for-data-${direction}`,
      refusing(async (req: Request, res: Response) => {
        const traceId = String(req.params.requestId);
        const experimentId = await ctx.experiments.experimentOf("trace", traceId);
        if (experimentId === undefined) {
          const got = await backingCall(ctx, "GET", `/api/3.0/mlflow/traces/${encodeURIComponent(traceId)}`);
          const message = typeof got.json.message === "string" ? got.json.message : `Trace with ID ${traceId} not found.`;
          sendDatabricksError(res, 404, "RESOURCE_DOES_NOT_EXIST", message);
          return;
        }
        await ctx.experiments.require(callerOf(res), experimentId, level);
        res.json({
          credential_info: {
            request_id: traceId,
            path: TRACE_DATA_FILE,
            signed_uri: ctx.blobs.signUrl(traceDataPath(experimentId, traceId), op, { signer: callerOf(res).id }),
            type: "AWS_PRESIGNED_URL",
            headers: [],
          },
        });
      }),
    );
  }
  return router;
}
