import { randomBytes } from "node:crypto";
import { GatewayError } from "../errors.js";
import type { ArtifactTarget } from "./artifact-locations.js";

/** An upload nobody completed or aborted is dropped (and aborted in the workspace) after this long. */
export const UPLOAD_TTL_MS = 24 * 60 * 60_000;
/** Open uploads at once, for the whole app: a bound on memory, not a quota anyone should meet. */
const MAX_OPEN_UPLOADS = 1_000;
/** MLflow's client splits a file into at most this many parts (S3's limit, which the Files API shares). */
export const MAX_PARTS = 10_000;

export interface MultipartUpload {
  id: string;
  /** Who opened it: only they may add parts, complete or abort it. */
  owner: string;
  /** The final file in the workspace. */
  workspacePath: string;
  /** The run or logged model and the file's path in its artifacts (for the audit trail and messages). */
  target: Extract<ArtifactTarget, { kind: "run" | "logged-model" }>;
  /** The Files API's session. */
  sessionToken: string;
  numParts: number;
  parts: Map<number, { etag: string; bytes: number }>;
  expiresAt: number;
}

/**
 * Multipart uploads in progress through this gateway. The client's parts arrive one
 * request each (each well inside the front door's time limit) and are written straight
 * into the workspace's own multipart session; this registry only remembers which session
 * an upload id stands for and the ETags the workspace gave. Ids are random, and bound
 * to the person who opened the upload.
 */
export class MultipartUploads {
  readonly #uploads = new Map<string, MultipartUpload>();

  open(fields: Omit<MultipartUpload, "id" | "parts" | "expiresAt">): MultipartUpload {
    if (this.#uploads.size >= MAX_OPEN_UPLOADS) {
      throw new GatewayError("BACKEND_THROTTLED", `The app has ${MAX_OPEN_UPLOADS} multipart uploads open; retry once some finish.`, {
        retryAfterSeconds: 30,
      });
    }
    const upload: MultipartUpload = { ...fields, id: randomBytes(16).toString("hex"), parts: new Map(), expiresAt: Date.now() + UPLOAD_TTL_MS };
    this.#uploads.set(upload.id, upload);
    return upload;
  }

  /** The caller's open upload, or an error that does not say whether someone else's exists. */
  get(id: string, owner: string): MultipartUpload {
    const upload = this.#uploads.get(id);
    if (upload === undefined || upload.owner !== owner || upload.expiresAt < Date.now()) {
      throw new GatewayError("UPLOAD_NOT_FOUND", `There is no open multipart upload ${id.slice(0, 64)} of yours; start the upload again.`);
    }
    return upload;
  }

  close(id: string): void {
    this.#uploads.delete(id);
  }

  /** Removes expired uploads and returns them, so the caller can abort their sessions. */
  sweep(now = Date.now()): MultipartUpload[] {
    const expired = [...this.#uploads.values()].filter((upload) => upload.expiresAt < now);
    for (const upload of expired) this.#uploads.delete(upload.id);
    return expired;
  }

  get size(): number {
    return this.#uploads.size;
  }
}
