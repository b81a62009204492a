import type { Readable } from "node:stream";
import { streamPut } from "./stream-put.js";
import { type DatabricksErrorBody, readDatabricksError, type WorkspaceClient, WorkspaceError } from "./workspace-client.js";

/**
 * The gateway's one client for the Databricks Files API (`/api/2.0/fs/files`,
 * `/api/2.0/fs/directories`), as the app's service principal: run and logged-model
 * artifacts under `/WorkspaceInternal/Mlflow/Artifacts/...` (the paths MLflow's own
 * databricks_run_artifact_repo.py and databricks_logged_model_artifact_repo.py use) and the
 * audit trail on a Unity Catalog volume. Paths are encoded here and nowhere else; control
 * calls are retried on 429/5xx (honouring Retry-After); bodies stream both ways.
 *
 * Multipart uploads follow databricks-sdk's FilesExt (mixins/files.py): initiate-upload,
 * create-upload-part-urls (presigned URLs, written without the workspace token),
 * complete-upload or abort-upload. Nothing is visible at the path until complete-upload.
 */

/** Statuses the Files API answers for a passing condition (SDK retries.py, errors/platform.py). */
const RETRYABLE = new Set([429, 500, 502, 503, 504]);
/** Control calls: at most this many attempts, within this much time. */
const MAX_ATTEMPTS = 4;
const RETRY_BUDGET_MS = 15_000;
/** A transfer that moves no byte for this long is given up (the SDK's inactivity timeout is 60 s). */
export const TRANSFER_IDLE_TIMEOUT_MS = 60_000;
/** Control calls (metadata, listings, multipart coordination). */
const CONTROL_TIMEOUT_MS = 30_000;

export class FilesApiError extends Error {
  override readonly name = "FilesApiError";
  constructor(
    readonly status: number,
    readonly error: DatabricksErrorBody,
    readonly retryAfterSeconds: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface FileEntry {
  /** Absolute workspace path. */
  path: string;
  name: string;
  isDir: boolean;
  size: number | undefined;
}

export type Metadata = { kind: "file"; size: number | undefined; contentType: string | undefined } | { kind: "directory" };

export interface Download {
  status: 200 | 206;
  contentLength: number | undefined;
  contentRange: string | undefined;
  contentType: string | undefined;
  lastModified: string | undefined;
  body: ReadableStream<Uint8Array>;
  /** Stops the transfer (the client went away). */
  cancel(): void;
}

export interface PartUrl {
  url: string;
  headers: Record<string, string>;
}

/** `/Volumes/a b/c` -> `/Volumes/a%20b/c`: each segment percent-encoded, slashes kept. */
export function encodeWorkspacePath(workspacePath: string): string {
  return workspacePath
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
}

export class FilesClient {
  readonly #workspace: WorkspaceClient;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(workspace: WorkspaceClient, options: { sleep?: (ms: number) => Promise<void> } = {}) {
    this.#workspace = workspace;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get host(): string {
    return this.#workspace.host;
  }

  /** Opens a file for reading; `range` is passed on as the HTTP Range header. Retried until the body starts. */
  async download(path: string, options: { range?: string } = {}): Promise<Download> {
    const idle = new IdleAbort(TRANSFER_IDLE_TIMEOUT_MS);
    const headers: Record<string, string> = {};
    if (options.range !== undefined) headers["range"] = options.range;
    const response = await this.#control(`/api/2.0/fs/files${encodeWorkspacePath(path)}`, { headers, signal: idle.signal }, path, "read");
    const body = response.body;
    if (body === null) throw new FilesApiError(502, { code: undefined, message: undefined }, undefined, `reading ${path}: empty answer`);
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

  /**
   * Writes a file from a stream of exactly `length` bytes, replacing what is there. Not
   * retried: the stream cannot be sent twice. A body that ends early or fails aborts the
   * request, and the workspace keeps nothing of it.
   */
  async upload(path: string, body: Readable | Buffer, length: number, options: { timeoutMs?: number } = {}): Promise<void> {
    const idle = new IdleAbort(TRANSFER_IDLE_TIMEOUT_MS);
    const signal = options.timeoutMs === undefined ? idle.signal : AbortSignal.any([idle.signal, AbortSignal.timeout(options.timeoutMs)]);
    let response: Response;
    try {
      response = await this.#workspace.putStream(`/api/2.0/fs/files${encodeWorkspacePath(path)}?overwrite=true`, {
        headers: { "content-type": "application/octet-stream", "content-length": String(length) },
        body: Buffer.isBuffer(body) ? body : idle.watchNode(body),
        signal,
      });
    } finally {
      idle.stop();
    }
    await expectOk(response, path, "write");
    await response.body?.cancel();
  }

  /** Kind and size of what is at `path`, or undefined when nothing is. */
  async metadata(path: string): Promise<Metadata | undefined> {
    const encoded = encodeWorkspacePath(path);
    const file = await this.#control(`/api/2.0/fs/files${encoded}`, { method: "HEAD" }, path, "read", [404]);
    if (file.status !== 404) {
      return {
        kind: "file",
        size: numberOrUndefined(file.headers.get("content-length")),
        contentType: file.headers.get("content-type") ?? undefined,
      };
    }
    const directory = await this.#control(`/api/2.0/fs/directories${encoded}`, { method: "HEAD" }, path, "read", [404]);
    return directory.status === 404 ? undefined : { kind: "directory" };
  }

  /** The entries of a directory, every page; undefined when the directory does not exist. */
  async list(path: string, options: { pageSize?: number } = {}): Promise<FileEntry[] | undefined> {
    const entries: FileEntry[] = [];
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams();
      if (options.pageSize !== undefined) query.set("page_size", String(options.pageSize));
      if (pageToken !== undefined) query.set("page_token", pageToken);
      const suffix = query.size === 0 ? "" : `?${query.toString()}`;
      const response = await this.#control(`/api/2.0/fs/directories${encodeWorkspacePath(path)}${suffix}`, {}, path, "read", [404]);
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      const page = (await response.json()) as {
        contents?: Array<{ path?: string; name?: string; is_directory?: boolean; file_size?: number }>;
        next_page_token?: string;
      };
      for (const item of page.contents ?? []) {
        if (typeof item.path !== "string") continue;
        entries.push({
          path: item.path,
          name: item.name ?? item.path.slice(item.path.lastIndexOf("/") + 1),
          isDir: item.is_directory === true,
          size: item.is_directory === true ? undefined : item.file_size,
        });
      }
      pageToken = page.next_page_token || undefined;
    } while (pageToken !== undefined);
    return entries;
  }

  /** Opens a multipart upload to `path`; its session token names it from then on. */
  async initiateMultipart(path: string): Promise<string> {
    const response = await this.#control(
      `/api/2.0/fs/files${encodeWorkspacePath(path)}?action=initiate-upload&overwrite=true`,
      { method: "POST" },
      path,
      "write",
    );
    const answer = (await response.json()) as { multipart_upload?: { session_token?: unknown } };
    const token = answer.multipart_upload?.session_token;
    if (typeof token !== "string" || token === "") {
      throw new FilesApiError(
        502,
        { code: undefined, message: undefined },
        undefined,
        `starting an upload to ${path}: the workspace gave no session`,
      );
    }
    return token;
  }

  /** A presigned URL (and the headers it needs) for one part. */
  async partUrl(path: string, sessionToken: string, partNumber: number): Promise<PartUrl> {
    const expireTime = new Date(Date.now() + 15 * 60_000).toISOString();
    const response = await this.#control(
      "/api/2.0/fs/create-upload-part-urls",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ path, session_token: sessionToken, start_part_number: partNumber, count: 1, expire_time: expireTime }),
      },
      path,
      "write",
    );
    const answer = (await response.json()) as {
      upload_part_urls?: Array<{ url?: string; part_number?: number; headers?: Array<{ name: string; value: string }> }>;
    };
    const found = answer.upload_part_urls?.find((item) => item.part_number === partNumber);
    if (found === undefined || typeof found.url !== "string") {
      throw new FilesApiError(
        502,
        { code: undefined, message: undefined },
        undefined,
        `uploading part ${partNumber} of ${path}: the workspace gave no URL`,
      );
    }
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    for (const header of found.headers ?? []) headers[header.name.toLowerCase()] = header.value;
    return { url: found.url, headers };
  }

  /** Writes one part to its presigned URL (cloud storage: no workspace token); answers its ETag. */
  async uploadPart(part: PartUrl, body: Readable, length: number, path: string): Promise<string> {
    const idle = new IdleAbort(TRANSFER_IDLE_TIMEOUT_MS);
    let response: Response;
    try {
      response = await streamPut(part.url, {
        headers: { ...part.headers, "content-length": String(length) },
        body: idle.watchNode(body),
        signal: idle.signal,
      });
    } finally {
      idle.stop();
    }
    await expectOk(response, path, "write");
    return response.headers.get("etag") ?? "";
  }

  async completeMultipart(path: string, sessionToken: string, parts: ReadonlyArray<{ partNumber: number; etag: string }>): Promise<void> {
    const query = `action=complete-upload&upload_type=multipart&session_token=${encodeURIComponent(sessionToken)}`;
    const response = await this.#control(
      `/api/2.0/fs/files${encodeWorkspacePath(path)}?${query}`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ parts: parts.map((part) => ({ part_number: part.partNumber, etag: part.etag })) }),
      },
      path,
      "write",
    );
    await response.body?.cancel();
  }

  async abortMultipart(path: string, sessionToken: string): Promise<void> {
    const query = `action=abort-upload&upload_type=multipart&session_token=${encodeURIComponent(sessionToken)}`;
    const response = await this.#control(`/api/2.0/fs/files${encodeWorkspacePath(path)}?${query}`, { method: "POST" }, path, "write");
    await response.body?.cancel();
  }

  /**
   * A call whose request can be sent again: retried on 429/5xx after Retry-After (or a
   * doubling pause), within MAX_ATTEMPTS and RETRY_BUDGET_MS. Other failures, and the last
   * retryable one, become a FilesApiError; statuses in `accept` are answered as they are.
   */
  async #control(apiPath: string, init: RequestInit, path: string, access: "read" | "write", accept: number[] = []): Promise<Response> {
    const deadline = Date.now() + RETRY_BUDGET_MS;
    for (let attempt = 1; ; attempt += 1) {
      let response: Response;
      try {
        response = await this.#workspace.send(apiPath, { ...init, signal: init.signal ?? AbortSignal.timeout(CONTROL_TIMEOUT_MS) });
      } catch (error) {
        // A connection that failed is tried again like a 503; a refused token is not.
        const pauseMs = 250 * 2 ** (attempt - 1);
        if (!(error instanceof WorkspaceError) || error.failure !== "unreachable" || attempt >= MAX_ATTEMPTS || Date.now() + pauseMs > deadline)
          throw error;
        await this.#sleep(pauseMs);
        continue;
      }
      if (response.ok || accept.includes(response.status)) return response;
      const retryAfter = retryAfterSeconds(response.headers.get("retry-after"));
      const pauseMs = retryAfter !== undefined ? retryAfter * 1000 : 250 * 2 ** (attempt - 1);
      if (!RETRYABLE.has(response.status) || attempt >= MAX_ATTEMPTS || Date.now() + pauseMs > deadline) {
        await expectOk(response, path, access);
      }
      await response.body?.cancel();
      await this.#sleep(pauseMs);
    }
  }
}

export async function expectOk(response: Response, path: string, access: "read" | "write"): Promise<void> {
  if (response.ok) return;
  const error = await readDatabricksError(response);
  const what = access === "read" ? "reading" : "writing";
  throw new FilesApiError(
    response.status,
    error,
    retryAfterSeconds(response.headers.get("retry-after")),
    `${what} ${path}: the workspace answered ${response.status}${error.code === undefined ? "" : ` ${error.code}`}`,
  );
}

export function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null || !/^\d{1,4}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

export function numberOrUndefined(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Aborts a transfer that stops moving: every chunk that passes re-arms the timer. A whole
 * transfer may take as long as it needs (a 1 GiB artifact), a stalled one may not.
 */
export class IdleAbort {
  readonly #controller = new AbortController();
  readonly #ms: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
    this.#arm();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  abort(): void {
    this.stop();
    this.#controller.abort();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.stop();
    this.#timer = setTimeout(() => this.#controller.abort(new Error("the transfer stalled")), this.#ms);
    this.#timer.unref();
  }

  /** The web stream, re-arming on each chunk and disarming at its end. */
  watch(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          this.#arm();
          controller.enqueue(chunk);
        },
        flush: () => this.stop(),
      }),
    );
  }

  /** A Node stream as an async iterable that re-arms on each chunk. */
  watchNode(body: Readable): AsyncIterable<Uint8Array> {
    const arm = (): void => this.#arm();
    return {
      async *[Symbol.asyncIterator]() {
        for await (const chunk of body) {
          arm();
          yield chunk as Uint8Array;
        }
      },
    };
  }
}
