import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { AuditObjects } from "../audit/audit-event.js";
import { readJsonBody } from "../attribution/read-json-body.js";
import { FilesApiError, type FilesClient } from "../databricks/files-client.js";
import type { TraceDataClient } from "../databricks/trace-data-client.js";
import { GatewayError } from "../errors.js";
import type { Logger } from "../log/create-logger.js";
import {
  type ArtifactTarget,
  checkArtifactPath,
  MODEL_VERSIONS_ROOT,
  parseArtifactTarget,
  TRACKING_ARTIFACTS_ROOT,
  workspaceRoot,
} from "./artifact-locations.js";
import { type ArtifactOwners, describe } from "./artifact-owners.js";
import { MAX_PARTS, type MultipartUpload, type MultipartUploads } from "./multipart-uploads.js";

/** The gateway's own route for the parts of a multipart upload (MLflow's client PUTs each part to the URL it is given). */
export const UPLOAD_PART_ROUTE = {
  method: "PUT",
  path: "/api/2.0/mlflow-artifacts/mpu/parts/{upload_id}/{part_number}",
  operation: "UploadArtifactPart",
  source: "gateway",
} as const;

/** MLflow's client falls back to a single PUT when mpu/create answers with this message (mlflow/exceptions.py). */
const UNSUPPORTED_MULTIPART = "Multipart upload is not supported for the current artifact repository";

type TrackedTarget = Extract<ArtifactTarget, { kind: "run" | "logged-model" | "trace" }>;

/** The one file of a trace's data (mlflow/tracing/constant.py TRACE_DATA_FILE_NAME). */
const TRACE_DATA_FILE = "traces.json";

export interface ArtifactCall {
  operation: string;
  /** The route's path parameters. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The caller's stable key (identity subject). */
  owner: string;
  /** The caller's verified token, only to hand back in the URLs of its own chunked transfers. */
  callerToken: string | undefined;
  /** scheme://host the client addressed, for absolute part URLs. */
  origin: string;
  /** Facts for the audit event, updated in place as the call proceeds (the event may be written before it settles). */
  audit: { readonly objects: AuditObjects; bytesIn: number; bytesOut: number };
}

/** "forward": the child answers (model versions' files); otherwise the service answered. */
export type ArtifactOutcome = "answered" | { forward: string };

/**
 * MLflow's proxied-artifact API (`/api/2.0/mlflow-artifacts/...`) in Databricks mode: run
 * and logged-model artifacts are streamed between the client and the workspace's Files
 * API as the service principal, never buffered whole; model versions' files are read by
 * the child (UnityCatalogModelsArtifactRepository); chunked transfers (multipart upload,
 * ranged download) keep each request within the front door's time limit.
 */
export class ArtifactService {
  readonly #files: FilesClient;
  readonly #traces: TraceDataClient;
  readonly #owners: ArtifactOwners;
  readonly #uploads: MultipartUploads;
  readonly #logger: Logger;

  constructor(deps: { files: FilesClient; traces: TraceDataClient; owners: ArtifactOwners; uploads: MultipartUploads; logger: Logger }) {
    this.#files = deps.files;
    this.#traces = deps.traces;
    this.#owners = deps.owners;
    this.#uploads = deps.uploads;
    this.#logger = deps.logger;
  }

  /** Whether the caller may use chunked transfers (the part URLs must carry its own token through the front door). */
  chunkedTransfers(callerToken: string | undefined): boolean {
    return callerToken !== undefined;
  }

  async handle(call: ArtifactCall, req: IncomingMessage, res: ServerResponse): Promise<ArtifactOutcome> {
    switch (call.operation) {
      case "ListArtifacts":
        return this.#list(call, res);
      case "DownloadArtifact":
        return this.#download(call, req, res);
      case "UploadArtifact":
        return this.#upload(call, req, res);
      case "DeleteArtifact":
        throw new GatewayError(
          "NOT_SUPPORTED",
          "Deleting artifacts is not supported for runs tracked in Databricks: MLflow's Databricks artifact repositories do not implement it.",
        );
      case "CreateMultipartUpload":
        return this.#createUpload(call, req, res);
      case "UploadArtifactPart":
        return this.#uploadPart(call, req, res);
      case "CompleteMultipartUpload":
        return this.#completeUpload(call, req, res);
      case "AbortMultipartUpload":
        return this.#abortUpload(call, req, res);
      case "GetPresignedDownloadUrl":
        return this.#downloadUrl(call, res);
      default:
        throw new GatewayError("NOT_SUPPORTED", `${call.operation} is not available when MLflow runs on Databricks.`);
    }
  }

  /** Aborts the workspace sessions of uploads nobody finished. */
  async sweep(): Promise<void> {
    for (const upload of this.#uploads.sweep()) {
      await this.#files.abortMultipart(upload.workspacePath, upload.sessionToken).catch((error: unknown) => {
        this.#logger.warn("could not abort an expired multipart upload", { upload: upload.id, error: String(error) });
      });
    }
  }

  async #list(call: ArtifactCall, res: ServerResponse): Promise<ArtifactOutcome> {
    const requested = call.query.get("path");
    if (requested === null || requested === "") {
      throw new GatewayError(
        "PARAMETER_REJECTED",
        `List a run's, logged model's or model version's artifacts by their location (path=${TRACKING_ARTIFACTS_ROOT}/... or ${MODEL_VERSIONS_ROOT}/...); the root of this app's artifacts is not listed.`,
      );
    }
    const target = await this.#target(requested, call);
    if (target.kind === "model-version") return { forward: "child" };
    if (target.kind === "trace") throw traceFilesOnly(target);
    const root = workspaceRoot(target);
    const folder = target.path === "" ? root : `${root}/${target.path}`;
    const entries = await this.#files.list(folder).catch((error: unknown) => this.#fail(error, target));
    const files = (entries ?? []).map((entry) => ({
      path: entry.name,
      is_dir: entry.isDir,
      ...(entry.isDir || entry.size === undefined ? {} : { file_size: String(entry.size) }),
    }));
    sendJson(res, 200, files.length === 0 ? {} : { files }, call);
    return "answered";
  }

  async #download(call: ArtifactCall, req: IncomingMessage, res: ServerResponse): Promise<ArtifactOutcome> {
    const target = await this.#target(call.params["artifact_path"] ?? "", call);
    if (target.kind === "model-version") return { forward: "child" };
    if (target.path === "") throw new GatewayError("PATH_REJECTED", `Name a file of ${describe(target)} to download.`);
    const range = req.headers.range;
    if (range !== undefined && !/^bytes=\d*-\d*$/.test(range)) {
      throw new GatewayError("HEADER_REJECTED", "Only a single byte range (Range: bytes=start-end) is supported.");
    }
    const options = range === undefined ? {} : { range };
    const file = await (
      target.kind === "trace"
        ? this.#traces.download(traceDataOf(target).traceId, options)
        : this.#files.download(`${workspaceRoot(target)}/${target.path}`, options)
    ).catch((error: unknown) => this.#fail(error, target));
    res.statusCode = file.status;
    // Served as a download, never rendered on the app's origin (as MLflow's own handler does).
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Disposition", `attachment; filename="${path.posix.basename(target.path).replace(/["\\\r\n]/g, "_")}"`);
    res.setHeader("Accept-Ranges", "bytes");
    if (file.contentLength !== undefined) res.setHeader("Content-Length", String(file.contentLength));
    if (file.contentRange !== undefined) res.setHeader("Content-Range", file.contentRange);
    if (file.lastModified !== undefined) res.setHeader("Last-Modified", file.lastModified);
    res.once("close", () => {
      if (!res.writableFinished) file.cancel();
    });
    const counter = countBytes((n) => (call.audit.bytesOut += n));
    await pipeline(Readable.fromWeb(file.body), counter, res).catch((error: unknown) => {
      // The client left, or the workspace broke off: either way the answer is cut, not truncated silently.
      this.#logger.debug("artifact download ended early", { path: target.path, error: String(error) });
      res.destroy();
    });
    return "answered";
  }

  async #upload(call: ArtifactCall, req: IncomingMessage, res: ServerResponse): Promise<ArtifactOutcome> {
    const target = await this.#writable(call.params["artifact_path"] ?? "", call);
    if (target.path === "") throw new GatewayError("PATH_REJECTED", `Name the file to write under ${describe(target)}.`);
    if (target.kind === "trace") traceDataOf(target);
    const { counter, length } = incomingBody(req, call);
    await (
      target.kind === "trace"
        ? this.#traces.upload(target.traceId, counter, length)
        : this.#files.upload(`${workspaceRoot(target)}/${target.path}`, counter, length)
    ).catch((error: unknown) => this.#fail(error, target));
    sendJson(res, 200, {}, call);
    return "answered";
  }

  async #createUpload(call: ArtifactCall, req: IncomingMessage, res: ServerResponse): Promise<ArtifactOutcome> {
    const folder = call.params["artifact_path"] ?? "";
    const body = await readJsonBody(req);
    call.audit.bytesIn += body.raw.length;
    const localFile = body.parsed["path"];
    const numParts = Number(body.parsed["num_parts"] ?? 1);
    if (typeof localFile !== "string" || localFile === "") throw new GatewayError("PARAMETER_REJECTED", "mpu/create needs the file's `path`.");
    if (!Number.isInteger(numParts) || numParts < 1 || numParts > MAX_PARTS) {
      throw new GatewayError("PARAMETER_REJECTED", `num_parts must be a whole number from 1 to ${MAX_PARTS}.`);
    }
    // MLflow's servers write the upload to <artifact path>/<the local file's name>.
    const name = path.posix.basename(localFile.replace(/\\/g, "/"));
    const target = await this.#writable(folder === "" ? name : `${folder}/${checkArtifactPath(name, "file name")}`, call);
    if (target.kind === "trace") {
      // MLflow's Databricks trace repository writes a trace's data in one request; so does its client after this answer.
      sendJson(res, 501, { error_code: "NOT_IMPLEMENTED", message: `${UNSUPPORTED_MULTIPART}: a trace's data is written in one request.` }, call);
      return "answered";
    }
    if (!this.chunkedTransfers(call.callerToken)) {
      // Each part is a request of its own through the front door, which needs the caller's
      // token: without one the client sends the file in one request instead.
      sendJson(
        res,
        501,
        {
          error_code: "NOT_IMPLEMENTED",
          message: `${UNSUPPORTED_MULTIPART}: the app does not receive your token (enable user authorization for the app).`,
        },
        call,
      );
      return "answered";
    }
    const workspacePath = `${workspaceRoot(target)}/${target.path}`;
    const sessionToken = await this.#files.initiateMultipart(workspacePath).catch((error: unknown) => this.#fail(error, target));
    const upload = this.#uploads.open({ owner: call.owner, workspacePath, target, sessionToken, numParts });
    const credentials = Array.from({ length: numParts }, (_, index) => ({
      part_number: index + 1,
      url: `${call.origin}/api/2.0/mlflow-artifacts/mpu/parts/${upload.id}/${index + 1}`,
      headers: { Authorization: `Bearer ${call.callerToken}` },
    }));
    sendJson(res, 200, { upload_id: upload.id, credentials }, call);
    return "answered";
  }

  async #uploadPart(call: ArtifactCall, req: IncomingMessage, res: ServerResponse): Promise<ArtifactOutcome> {
    const upload = this.#uploads.get(call.params["upload_id"] ?? "", call.owner);
    const partNumber = Number(call.params["part_number"]);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > upload.numParts) {
      throw new GatewayError(
        "PARAMETER_REJECTED",
        `Part ${String(call.params["part_number"]).slice(0, 20)} is not one of this upload's ${upload.numParts} parts.`,
      );
    }
    Object.assign(call.audit.objects, objectsOf(upload.target));
    const { counter, length } = incomingBody(req, call);
    const url = await this.#files
      .partUrl(upload.workspacePath, upload.sessionToken, partNumber)
      .catch((error: unknown) => this.#fail(error, upload.target));
    const etag = await this.#files.uploadPart(url, counter, length, upload.workspacePath).catch((error: unknown) => this.#fail(error, upload.target));
    upload.parts.set(partNumber, { etag, bytes: length });
    res.setHeader("ETag", etag);
    sendJson(res, 200, {}, call);
    return "answered";
  }

  async #completeUpload(call: ArtifactCall, req: IncomingMessage, res: ServerResponse): Promise<ArtifactOutcome> {
    const upload = await this.#uploadNamedIn(call, req);
    const missing = Array.from({ length: upload.numParts }, (_, index) => index + 1).filter((n) => !upload.parts.has(n));
    if (missing.length > 0) {
      throw new GatewayError(
        "PARAMETER_REJECTED",
        `The upload is missing part(s) ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}; nothing was written.`,
      );
    }
    const parts = [...upload.parts.entries()].sort(([a], [b]) => a - b).map(([partNumber, part]) => ({ partNumber, etag: part.etag }));
    await this.#files.completeMultipart(upload.workspacePath, upload.sessionToken, parts).catch((error: unknown) => this.#fail(error, upload.target));
    this.#uploads.close(upload.id);
    sendJson(res, 200, {}, call);
    return "answered";
  }

  async #abortUpload(call: ArtifactCall, req: IncomingMessage, res: ServerResponse): Promise<ArtifactOutcome> {
    const upload = await this.#uploadNamedIn(call, req);
    this.#uploads.close(upload.id);
    await this.#files.abortMultipart(upload.workspacePath, upload.sessionToken).catch((error: unknown) => this.#fail(error, upload.target));
    sendJson(res, 200, {}, call);
    return "answered";
  }

  /**
   * MLflow's ranged download: the client fetches byte ranges of the file from the URL it is
   * given, with the headers it is given (its own token, for the front door). A model
   * version's file is answered without a size, which tells the client to download it in
   * one request (the child reads those files whole anyway).
   */
  async #downloadUrl(call: ArtifactCall, res: ServerResponse): Promise<ArtifactOutcome> {
    const artifactPath = call.params["artifact_path"] ?? "";
    const target = await this.#target(artifactPath, call);
    if (!this.chunkedTransfers(call.callerToken)) {
      throw new GatewayError(
        "NOT_SUPPORTED",
        "Ranged downloads need your token on each request, which the app does not receive; download in one request.",
      );
    }
    let size: number | undefined;
    if (target.kind === "trace") {
      // Without a size the client downloads in one request, which is what a trace's data needs.
      traceDataOf(target);
    } else if (target.kind !== "model-version") {
      const metadata = await this.#files.metadata(`${workspaceRoot(target)}/${target.path}`).catch((error: unknown) => this.#fail(error, target));
      if (metadata?.kind !== "file") throw new GatewayError("ARTIFACT_NOT_FOUND", `${describe(target)} has no file ${target.path.slice(0, 300)}.`);
      size = metadata.size;
    }
    const encoded = artifactPath
      .split("/")
      .map((segment) => encodeURIComponent(segment))
      .join("/");
    const answer = {
      url: `${call.origin}/api/2.0/mlflow-artifacts/artifacts/${encoded}`,
      headers: { Authorization: `Bearer ${call.callerToken}` },
      ...(size === undefined ? {} : { file_size: size }),
    };
    sendJson(res, 200, answer, call);
    return "answered";
  }

  /** The caller's open upload named by a complete/abort body, named in the audit event too. */
  async #uploadNamedIn(call: ArtifactCall, req: IncomingMessage): Promise<MultipartUpload> {
    const body = await readJsonBody(req);
    call.audit.bytesIn += body.raw.length;
    const upload = this.#uploads.get(uploadIdOf(body.parsed), call.owner);
    Object.assign(call.audit.objects, objectsOf(upload.target));
    return upload;
  }

  /** Parses the path, names its objects for the audit trail, and confirms a run's or logged model's ownership. */
  async #target(artifactPath: string, call: ArtifactCall): Promise<ArtifactTarget> {
    const target = parseArtifactTarget(artifactPath);
    Object.assign(call.audit.objects, objectsOf(target));
    if (target.kind !== "model-version") await this.#owners.confirm(target);
    return target;
  }

  async #writable(artifactPath: string, call: ArtifactCall): Promise<TrackedTarget> {
    const target = await this.#target(artifactPath, call);
    if (target.kind === "model-version") {
      throw new GatewayError(
        "ROUTE_FORBIDDEN",
        "A Unity Catalog model version's files are written by registering a model (mlflow.register_model), not uploaded.",
      );
    }
    return target;
  }

  /** A Files API failure as an MLflow-shaped error that names the object and, for a refusal, the grant. */
  #fail(error: unknown, target: ArtifactTarget): never {
    if (!(error instanceof FilesApiError)) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError("BACKEND_UNAVAILABLE", `Moving the artifact failed: ${String((error as Error)?.message ?? error).slice(0, 200)}.`, {
        cause: error,
        retryAfterSeconds: 5,
      });
    }
    const what = target.path === "" ? describe(target) : `${target.path.slice(0, 300)} of ${describe(target)}`;
    const code = error.error.code ?? String(error.status);
    if (error.status === 404) throw new GatewayError("ARTIFACT_NOT_FOUND", `There is no artifact ${what}.`);
    if (error.status === 403) {
      const experiment = "experimentId" in target ? ` on experiment ${target.experimentId}` : "";
      throw new GatewayError(
        "BACKEND_FORBIDDEN",
        `The app's service principal was refused access to ${what} (${code}): it needs CAN_EDIT${experiment} to write artifacts and CAN_READ to read them.`,
      );
    }
    if (error.status === 429) {
      throw new GatewayError("BACKEND_THROTTLED", `The workspace is rate limiting the app; retry ${what} shortly.`, {
        retryAfterSeconds: error.retryAfterSeconds ?? 2,
      });
    }
    if (error.status === 400 || error.status === 409 || error.status === 416) {
      throw new GatewayError("PARAMETER_REJECTED", `The workspace refused ${what} (${code}).`);
    }
    throw new GatewayError("BACKEND_UNAVAILABLE", `The workspace failed on ${what} (${error.status} ${code}).`, { retryAfterSeconds: 5 });
  }
}

/** A trace's data is one file, `traces.json`, moved through signed URLs: nothing else is there to read or write. */
function traceDataOf(target: Extract<ArtifactTarget, { kind: "trace" }>): Extract<ArtifactTarget, { kind: "trace" }> {
  if (target.path !== TRACE_DATA_FILE) throw traceFilesOnly(target);
  return target;
}

function traceFilesOnly(target: Extract<ArtifactTarget, { kind: "trace" }>): GatewayError {
  return new GatewayError(
    "NOT_SUPPORTED",
    `Only ${TRACE_DATA_FILE} of trace ${target.traceId} can be read or written through the app, as MLflow's Databricks trace repository does; it cannot be listed.`,
  );
}

function uploadIdOf(body: Record<string, unknown>): string {
  const id = body["upload_id"];
  if (typeof id !== "string" || id === "")
    throw new GatewayError("PARAMETER_REJECTED", "The request needs the `upload_id` that mpu/create answered.");
  return id;
}

function objectsOf(target: ArtifactTarget): AuditObjects {
  const artifact = target.path === "" ? {} : { artifact_path: target.path };
  if (target.kind === "run") return { experiment_id: target.experimentId, run_id: target.runId, ...artifact };
  if (target.kind === "logged-model") return { experiment_id: target.experimentId, logged_model_id: target.modelId, ...artifact };
  if (target.kind === "trace") return { experiment_id: target.experimentId, trace_id: target.traceId, ...artifact };
  return { model_name: target.name, version: target.version, ...artifact };
}

/**
 * An upload's body, counted for the audit trail as it streams on. A client that leaves
 * midway aborts the workspace's request: nothing is written under the name.
 */
function incomingBody(req: IncomingMessage, call: ArtifactCall): { counter: Transform; length: number } {
  const length = declaredLength(req);
  const counter = countBytes((n) => (call.audit.bytesIn += n));
  req.pipe(counter);
  req.once("error", (error) => counter.destroy(error));
  req.once("aborted", () => counter.destroy(new Error("the client closed the upload")));
  return { counter, length };
}

/** Uploads need their length up front: the workspace refuses a body of unknown size. */
function declaredLength(req: IncomingMessage): number {
  const header = req.headers["content-length"];
  if (header === undefined || !/^\d{1,15}$/.test(header)) {
    throw new GatewayError("BODY_REJECTED", "An artifact upload needs a Content-Length header (chunked uploads are not accepted).");
  }
  return Number(header);
}

function countBytes(add: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      add(chunk.length);
      callback(null, chunk);
    },
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, call: ArtifactCall): void {
  const bytes = Buffer.from(JSON.stringify(body));
  call.audit.bytesOut += bytes.length;
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Content-Length", String(bytes.length));
  res.end(bytes);
}
