import type { IncomingMessage as Request, ServerResponse as Response } from "node:http";
import type { AuditObjects } from "../audit/audit-event.js";
import { modelVersionLocation, rewriteLocations, toClientLocation, toDatabricksLocation } from "../artifacts/artifact-locations.js";
import { type ArtifactCall, type ArtifactService, UPLOAD_PART_ROUTE } from "../artifacts/artifact-service.js";
import { GatewayError } from "../errors.js";
import type { Next as NextFunction } from "./pipeline.js";
import { addAnswerRewrite, contextOf, jsonBodyOf, replaceJsonBody } from "../request/request-context.js";

export interface ArtifactStageDependencies {
  /** Databricks mode only: in local mode the child serves its own artifact store. */
  service: ArtifactService | undefined;
}

/**
 * Operations whose answers can carry an artifact location (a run's artifact_uri, an
 * experiment's artifact_location, a logged model's, a model version's source, a listing's
 * root_uri, and the UI's GraphQL run queries).
 */
const LOCATION_OPERATIONS: ReadonlySet<string> = new Set([
  "CreateRun",
  "GetRun",
  "UpdateRun",
  "SearchRuns",
  "RestoreRun",
  "CreateExperiment",
  "GetExperiment",
  "GetExperimentByName",
  "SearchExperiments",
  "CreateLoggedModel",
  "GetLoggedModel",
  "SearchLoggedModels",
  "FinalizeLoggedModel",
  "CreateModelVersion",
  "GetModelVersion",
  "UpdateModelVersion",
  "SearchModelVersions",
  "GetModelVersionByAlias",
  "TransitionModelVersionStage",
  "GetLatestVersions",
  "CreateRegisteredModel",
  "GetRegisteredModel",
  "UpdateRegisteredModel",
  "RenameRegisteredModel",
  "SearchRegisteredModels",
  "ListArtifacts",
  "Graphql",
  // A trace's TraceInfo names where its data is (tag mlflow.artifactLocation).
  "StartTrace",
  "StartTraceV3",
  "EndTrace",
  "GetTraceInfo",
  "GetTraceInfoV3",
  "SearchTraces",
  "SearchTracesV3",
  "BatchGetTraceInfos",
  "BatchGetTraces",
  "GetTrace",
]);

/** Operations whose request may carry a location a client was shown, mapped back before MLflow sees it. */
const LOCATION_FIELDS_IN: Readonly<Record<string, string>> = { CreateModelVersion: "source", CreateExperiment: "artifact_location" };

/** MLflow routes that hand out raw storage URLs; through the app they would bypass it. */
const RAW_STORAGE_OPERATIONS: ReadonlySet<string> = new Set(["CreatePresignedUploadUrl", "CreatePresignedDownloadUrl"]);

/**
 * Databricks mode: what clients see of artifact locations resolves through the app
 * (artifacts/artifact-locations.ts), both ways. Answers are rewritten after the child
 * answers (proxy/relay-response.ts); requests before they are forwarded.
 */
export function artifactLocations(deps: ArtifactStageDependencies) {
  return function artifactLocations(req: Request, _res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const route = context.route;
    if (deps.service === undefined || route === undefined || isProxiedArtifactRoute(route.route.path)) return next();
    const operation = route.route.operation;
    if (RAW_STORAGE_OPERATIONS.has(operation)) {
      next(
        new GatewayError(
          "NOT_SUPPORTED",
          `${operation} is not available through the app: artifacts move through the app's own URL (mlflow-artifacts:/...).`,
        ),
      );
      return;
    }
    if (operation === "GetServerInfo") {
      // Chunked transfers need the caller's own token on every part (see ArtifactService).
      const chunked = deps.service.chunkedTransfers(context.callerToken);
      // MLflow's raw presigned-upload routes answer 501 through the app (RAW_STORAGE_OPERATIONS): say so up front.
      addAnswerRewrite(context, (body) => ({
        ...(body as object),
        multipart_uploads_enabled: chunked,
        multipart_downloads_enabled: chunked,
        presigned_upload_run_id_supported: false,
        presigned_upload_model_id_supported: false,
      }));
    } else if (operation === "GetModelVersionDownloadUri") {
      const query = new URL(req.url ?? "/", "http://gateway.invalid").searchParams;
      const name = query.get("name") ?? "";
      const version = query.get("version") ?? "";
      if (/^[^./\s]+\.[^./\s]+\.[^./\s]+$/.test(name) && /^\d{1,10}$/.test(version)) {
        addAnswerRewrite(context, (body) => ({ ...(body as object), artifact_uri: modelVersionLocation(name.toLowerCase(), version) }));
      }
    } else if (LOCATION_OPERATIONS.has(operation)) {
      addAnswerRewrite(context, (body) => rewriteLocations(body, toClientLocation));
    }
    const field = LOCATION_FIELDS_IN[operation];
    if (field === undefined) return next();
    mapRequestLocation(req, field).then(() => next(), next);
  };
}

async function mapRequestLocation(req: Request, field: string): Promise<void> {
  const body = await jsonBodyOf(req);
  const value = body[field];
  if (typeof value !== "string") return;
  const mapped = toDatabricksLocation(value);
  if (mapped !== value) replaceJsonBody(req, { ...body, [field]: mapped });
}

/** Databricks mode: MLflow's proxied-artifact API, answered by the artifact service (or, for model versions' files, the child). */
export function artifacts(deps: ArtifactStageDependencies) {
  return function artifacts(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const route = context.route;
    const { service } = deps;
    if (service === undefined || route === undefined || !isProxiedArtifactRoute(route.route.path)) return next();
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    // The audit event is written when the response closes, which can come before the
    // service's promise settles: the call's audit facts are the request context's own.
    const objects: AuditObjects = {};
    context.auditObjects = objects;
    const audit = {
      objects,
      get bytesIn(): number {
        return context.bytesIn;
      },
      set bytesIn(value: number) {
        context.bytesIn = value;
      },
      get bytesOut(): number {
        return context.bytesOut;
      },
      set bytesOut(value: number) {
        context.bytesOut = value;
      },
    };
    const call: ArtifactCall = {
      operation: route.route.operation,
      params: route.params,
      query: new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1)),
      owner: context.identity?.subject ?? "",
      callerToken: context.callerToken,
      origin: originOf(req, context.forwardedHost, context.forwardedProto),
      audit,
    };
    service.handle(call, req, res).then((outcome) => {
      if (outcome !== "answered") next();
    }, next);
  };
}

function isProxiedArtifactRoute(path: string): boolean {
  return path.includes("/mlflow-artifacts/") || path === UPLOAD_PART_ROUTE.path;
}

/** The app's URL as the client addressed it: the front door's host, https unless it said otherwise. */
function originOf(req: Request, forwardedHost: string | undefined, forwardedProto: string | undefined): string {
  const host = forwardedHost ?? req.headers.host ?? "localhost";
  const proto = forwardedProto === "http" || forwardedProto === "https" ? forwardedProto : forwardedHost === undefined ? "http" : "https";
  return `${proto}://${host}`;
}
