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

export class BlobStore {
  private readonly secret = randomBytes(32);

  constructor(
    private readonly root: string,
    private readonly baseUrl: () => string,
    private readonly ttlSeconds: number,
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

  /** Writes a file atomically, creating parent directories. */
  async write(workspacePath: string, data: Uint8Array | string | Readable): Promise<BlobStat> {
    const target = this.fsPath(workspacePath);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.upload-${randomBytes(6).toString("hex")}`;
    if (typeof data === "string" || data instanceof Uint8Array) {
      await writeFile(tmp, data);
    } else {
      await pipeline(data, createWriteStream(tmp));
    }
    await rename(tmp, target);
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
    const names = (await readdir(this.fsPath(dir))).filter((n) => !n.includes(".upload-")).sort();
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

  private signature(op: "r" | "w", workspacePath: string, expires: number): string {
    return createHmac("sha256", this.secret).update(`${op}\n${workspacePath}\n${expires}`).digest("base64url");
  }

  /** A URL that reads (r) or writes (w) one path without a bearer token, until it expires. */
  signUrl(workspacePath: string, op: "r" | "w", ttlSeconds = this.ttlSeconds): string {
    const p = normalizeWorkspacePath(workspacePath);
    const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
    const query = new URLSearchParams({ op, expires: String(expires), sig: this.signature(op, p, expires) });
    return `${this.baseUrl()}/blob${encodeWorkspacePath(p)}?${query.toString()}`;
  }

  checkSignature(workspacePath: string, op: string, expires: string, sig: string): SignatureCheck {
    if (op !== "r" && op !== "w") return "bad";
    const exp = Number(expires);
    if (!Number.isInteger(exp)) return "bad";
    const expected = Buffer.from(this.signature(op, normalizeWorkspacePath(workspacePath), exp));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return "bad";
    return exp * 1000 < Date.now() ? "expired" : "ok";
  }
}

/** Hex MD5 of a file's bytes, used as the ETag of blob uploads (as S3 does). */
export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}
