// The workspace's file storage, on local disk, keyed by workspace path
// (/WorkspaceInternal/Mlflow/Artifacts/..., /Models/...). The Files API, the
// MLflow artifact credential endpoints and the UC model storage all read and
// write here, so a file written one way can be read any other way, as in a
// real workspace. Signed URLs stand in for S3 presigned URLs.

import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface BlobStat {
  isDir: boolean;
  size: number;
  mtimeMs: number;
}

export interface DirEntry {
  /** Workspace path; directories end with "/" as the Files API lists them. */
  path: string;
  name: string;
  isDir: boolean;
  size: number;
  mtimeMs: number;
}

export type SignatureCheck = "ok" | "expired" | "bad";

/** What a signed URL is issued for, bound by its signature. */
export interface SignedUrlScope {
  /** SCIM id of the principal the URL is issued to (the caller that asked for it); recorded on each use. */
  signer: string;
  /** The URL uploads one part of a multipart session, never the file itself (as S3's partNumber/uploadId). */
  part?: { uploadId: string; partNumber: number };
  /** Lifetime; the store's default when omitted. */
  ttlSeconds?: number;
}

/** A signed URL's query, checked: who it was issued to and, for a part URL, which part. */
export interface SignedUrlCheck {
  result: SignatureCheck;
  signer: string;
  part?: { uploadId: string; partNumber: number };
}

/** The body ended before the length it announced: the upload is discarded. */
export class IncompleteBody extends Error {
  readonly code = "INCOMPLETE_BODY";
}

/** Normalises a workspace path; throws on anything that could escape the root. */
export function normalizeWorkspacePath(input: string): string {
  const segments = input.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === ".." || s.includes("\0") || s.includes("\\"))) {
    throw new Error(`invalid path: ${input}`);
  }
  return `/${segments.join("/")}`;
}

/** Percent-encodes each segment of a workspace path for use in a URL. */
export function encodeWorkspacePath(p: string): string {
  return p
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
}

/** Part of the name of a file still being written; listings skip such files. */
const TEMP_MARKER = ".upload-";

export class BlobStore {
  private readonly secret = randomBytes(32);

  constructor(
    private readonly root: string,
    private readonly baseUrl: () => string,
    /** Default lifetime of signed URLs (the `signedUrlTtlSeconds` option). */
    readonly ttlSeconds: number,
  ) {}

  private fsPath(workspacePath: string): string {
    return path.join(this.root, normalizeWorkspacePath(workspacePath));
  }

  async stat(workspacePath: string): Promise<BlobStat | undefined> {
    try {
      const s = await stat(this.fsPath(workspacePath));
      return { isDir: s.isDirectory(), size: s.size, mtimeMs: s.mtimeMs };
    } catch {
      return undefined;
    }
  }

  /** Absolute file path for streaming a file out (range requests, HEAD). */
  filePath(workspacePath: string): string {
    return this.fsPath(workspacePath);
  }

  /**
   * Writes a file atomically, creating parent directories: the bytes go to a temporary name
   * (hidden from listings) that is renamed over the path only once all of them arrived, so a
   * body cut off half-way leaves the old file, or nothing, at the path. `expectedBytes` (a
   * request's Content-Length) must match what arrived, else IncompleteBody.
   */
  async write(workspacePath: string, data: Uint8Array | string | Readable, expectedBytes?: number): Promise<BlobStat> {
    const target = this.fsPath(workspacePath);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}${TEMP_MARKER}${randomBytes(6).toString("hex")}`;
    try {
      if (typeof data === "string" || data instanceof Uint8Array) {
        await writeFile(tmp, data);
      } else {
        await pipeline(data, createWriteStream(tmp));
      }
      const written = (await stat(tmp)).size;
      if (expectedBytes !== undefined && written !== expectedBytes) {
        throw new IncompleteBody(`received ${written} of ${expectedBytes} bytes`);
      }
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const s = await stat(target);
    return { isDir: false, size: s.size, mtimeMs: s.mtimeMs };
  }

  /**
   * Moves a finished file from outside the store (an assembled multipart upload) to a path in
   * one rename, creating parent directories; same file system, so nothing is copied.
   */
  async adopt(workspacePath: string, file: string): Promise<BlobStat> {
    const target = this.fsPath(workspacePath);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(file, target);
    const s = await stat(target);
    return { isDir: false, size: s.size, mtimeMs: s.mtimeMs };
  }

  async mkdir(workspacePath: string): Promise<void> {
    await mkdir(this.fsPath(workspacePath), { recursive: true });
  }

  async remove(workspacePath: string, recursive = false): Promise<void> {
    await rm(this.fsPath(workspacePath), { recursive, force: true });
  }

  /** Direct children of a directory, or undefined when it is not a directory. */
  async list(workspacePath: string): Promise<DirEntry[] | undefined> {
    const dir = normalizeWorkspacePath(workspacePath);
    const s = await this.stat(dir);
    if (!s?.isDir) return undefined;
    const names = (await readdir(this.fsPath(dir))).filter((n) => !n.includes(TEMP_MARKER)).sort();
    const entries: DirEntry[] = [];
    for (const name of names) {
      const child = dir === "/" ? `/${name}` : `${dir}/${name}`;
      const cs = await this.stat(child);
      if (!cs) continue;
      entries.push({ path: cs.isDir ? `${child}/` : child, name, isDir: cs.isDir, size: cs.size, mtimeMs: cs.mtimeMs });
    }
    return entries;
  }

  /** Every file below a directory, recursively, as workspace paths. */
  async walk(workspacePath: string): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    for (const entry of (await this.list(workspacePath)) ?? []) {
      if (entry.isDir) out.push(...(await this.walk(entry.path)));
      else out.push(entry);
    }
    return out;
  }

  private signature(op: "r" | "w", workspacePath: string, expires: number, signer: string, part: SignedUrlScope["part"]): string {
    const fields = [op, workspacePath, String(expires), signer, part?.uploadId ?? "", part ? String(part.partNumber) : ""];
    return createHmac("sha256", this.secret).update(fields.join("\n")).digest("base64url");
  }

  /**
   * A URL that reads (r) or writes (w) one path without a bearer token, until it expires. It
   * names the principal it is issued to, as an S3 presigned URL names its signer's access key
   * (X-Amz-Credential), and the signature covers that name, so each use is attributed.
   */
  signUrl(workspacePath: string, op: "r" | "w", scope: SignedUrlScope): string {
    const p = normalizeWorkspacePath(workspacePath);
    const expires = Math.floor(Date.now() / 1000) + (scope.ttlSeconds ?? this.ttlSeconds);
    const query = new URLSearchParams({ op, signer: scope.signer });
    if (scope.part) {
      query.set("uploadId", scope.part.uploadId);
      query.set("partNumber", String(scope.part.partNumber));
    }
    query.set("expires", String(expires));
    query.set("sig", this.signature(op, p, expires, scope.signer, scope.part));
    return `${this.baseUrl()}/blob${encodeWorkspacePath(p)}?${query.toString()}`;
  }

  /** Checks a signed URL's query for an operation on a path. */
  checkSignedUrl(workspacePath: string, op: "r" | "w", query: Record<string, unknown>): SignedUrlCheck {
    const text = (name: string): string => (typeof query[name] === "string" ? query[name] : "");
    const signer = text("signer");
    const exp = Number(text("expires"));
    const uploadId = text("uploadId");
    const partNumber = Number(text("partNumber"));
    const part = uploadId === "" && text("partNumber") === "" ? undefined : { uploadId, partNumber };
    if (text("op") !== op || !Number.isInteger(exp) || (part && !Number.isInteger(partNumber))) return { result: "bad", signer };
    const expected = Buffer.from(this.signature(op, normalizeWorkspacePath(workspacePath), exp, signer, part));
    const given = Buffer.from(text("sig"));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { result: "bad", signer };
    return { result: exp * 1000 < Date.now() ? "expired" : "ok", signer, ...(part ? { part } : {}) };
  }
}

/** Hex MD5 of a file's bytes, used as the ETag of blob uploads (as S3 does). */
export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}
