import type { Readable } from "node:stream";
import { type Download, expectOk, FilesApiError, IdleAbort, numberOrUndefined, retryAfterSeconds, TRANSFER_IDLE_TIMEOUT_MS } from "./files-client.js";
import { StreamPutError, streamPut } from "./stream-put.js";
import { readDatabricksError, type WorkspaceClient } from "./workspace-client.js";

/**
 * A trace's data (its `traces.json`) in a Databricks workspace, moved as the app's service
 * principal the way MLflow's own DatabricksArtifactRepository moves it for a `tr-` resource
 * (mlflow/store/artifact/databricks_artifact_repo_resources.py, _Trace): ask the tracking
 * service for a short-lived signed URL (GET /api/2.0/mlflow/traces/{id}/credentials-for-data-
 * upload|download, GetCredentialsForTraceData* in databricks_artifacts.proto), then move the
 * bytes to or from cloud storage with it, with the headers it came with. Bodies stream both
 * ways; a transfer that stops moving is given up.
 */

/** Signed URL kinds of ArtifactCredentialType (databricks_artifacts.proto) and how each is written in one request. */
const SINGLE_PUT: ReadonlySet<string> = new Set(["AWS_PRESIGNED_URL", "GCP_SIGNED_URL"]);
const CREDENTIAL_TIMEOUT_MS = 30_000;

interface Credential {
  url: string;
  type: string;
  headers: Record<string, string>;
}

export class TraceDataClient {
  readonly #workspace: WorkspaceClient;

  constructor(workspace: WorkspaceClient) {
    this.#workspace = workspace;
  }

  async download(traceId: string, options: { range?: string } = {}): Promise<Download> {
    const credential = await this.#credential(traceId, "download");
    const idle = new IdleAbort(TRANSFER_IDLE_TIMEOUT_MS);
    const headers = { ...credential.headers, ...(options.range === undefined ? {} : { range: options.range }) };
    let response: Response;
    try {
      response = await fetch(credential.url, { headers, signal: idle.signal });
    } catch (error) {
      idle.abort();
      throw unreachable(traceId, error);
    }
    await expectOk(response, describe(traceId), "read");
    const body = response.body;
    if (body === null) throw new FilesApiError(502, { code: undefined, message: undefined }, undefined, `reading ${describe(traceId)}: empty answer`);
    return {
      status: response.status === 206 ? 206 : 200,
      contentLength: numberOrUndefined(response.headers.get("content-length")),
      contentRange: response.headers.get("content-range") ?? undefined,
      contentType: response.headers.get("content-type") ?? undefined,
      lastModified: response.headers.get("last-modified") ?? undefined,
      body: idle.watch(body),
      cancel: () => idle.abort(),
    };
  }

  /** Writes the trace's data from a stream of exactly `length` bytes. Not retried: a stream cannot be sent twice. */
  async upload(traceId: string, body: Readable, length: number): Promise<void> {
    const credential = await this.#credential(traceId, "upload");
    const headers: Record<string, string> = { ...credential.headers, "content-length": String(length) };
    if (credential.type === "AZURE_SAS_URI") headers["x-ms-blob-type"] = "BlockBlob";
    else if (!SINGLE_PUT.has(credential.type)) {
      throw new FilesApiError(
        501,
        { code: "NOT_IMPLEMENTED", message: undefined },
        undefined,
        `writing ${describe(traceId)}: the workspace offered a ${credential.type} URL, which the app does not write to`,
      );
    }
    const idle = new IdleAbort(TRANSFER_IDLE_TIMEOUT_MS);
    let response: Response;
    try {
      response = await streamPut(credential.url, { headers, body: idle.watchNode(body), signal: idle.signal });
    } catch (error) {
      throw unreachable(traceId, error);
    } finally {
      idle.stop();
    }
    await expectOk(response, describe(traceId), "write");
    await response.body?.cancel();
  }

  async #credential(traceId: string, direction: "upload" | "download"): Promise<Credential> {
    const apiPath = `/api/2.0/mlflow/traces/${encodeURIComponent(traceId)}/credentials-for-data-${direction}`;
    const response = await this.#workspace.send(apiPath, { signal: AbortSignal.timeout(CREDENTIAL_TIMEOUT_MS) });
    if (!response.ok) {
      const error = await readDatabricksError(response);
      throw new FilesApiError(
        response.status,
        error,
        retryAfterSeconds(response.headers.get("retry-after")),
        `a signed URL to ${direction} ${describe(traceId)}: the workspace answered ${response.status}${error.code === undefined ? "" : ` ${error.code}`}`,
      );
    }
    const body = (await response.json()) as { credential_info?: { signed_uri?: unknown; type?: unknown; headers?: unknown } };
    const info = body.credential_info;
    if (typeof info?.signed_uri !== "string" || !/^https?:\/\//.test(info.signed_uri)) {
      throw new FilesApiError(
        502,
        { code: undefined, message: undefined },
        undefined,
        `the workspace answered no signed URL for ${describe(traceId)}`,
      );
    }
    const headers: Record<string, string> = {};
    if (Array.isArray(info.headers)) {
      for (const header of info.headers as Array<{ name?: unknown; value?: unknown }>) {
        if (typeof header.name === "string" && typeof header.value === "string") headers[header.name] = header.value;
      }
    }
    return { url: info.signed_uri, type: typeof info.type === "string" ? info.type : "UNSPECIFIED", headers };
  }
}

function describe(traceId: string): string {
  return `the data of trace ${traceId}`;
}

function unreachable(traceId: string, error: unknown): FilesApiError {
  const cause = error instanceof StreamPutError ? error.reason : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name);
  return new FilesApiError(503, { code: undefined, message: undefined }, undefined, `moving ${describe(traceId)}: storage unreachable (${cause})`);
}
