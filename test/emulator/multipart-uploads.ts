// Multipart upload sessions behind the Files API (files-multipart.ts): parts are kept
// on disk outside the blob store, so nothing of an unfinished upload is visible at its
// path or in a listing, and completion assembles them in order into one file that is
// renamed into place. Everything streams: no part, and no assembled file, is ever held in
// memory (uploads of several GiB go through here).
//
// Semantics follow S3's multipart upload, which the SDK's presigned path mirrors
// (databricks-sdk 0.167.0 mixins/files.py:2086-2190): a part number may be uploaded again
// (the last upload wins); each part's ETag is its quoted MD5; completion names every part
// with its ETag in ascending order and drops parts it does not name; part numbers run from
// 1 to 10000 (docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html, the limits the
// SDK's part sizes are chosen against, config.py:200-225).

import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type BlobStore, IncompleteBody } from "./blob-store.js";
import { Refusal } from "./errors.js";

export const MAX_PART_NUMBER = 10_000;

export interface UploadedPart {
  partNumber: number;
  /** Quoted hex MD5 of the part, as S3 answers it. */
  etag: string;
  size: number;
  /** Where the part's bytes are, under the session's staging folder. */
  file: string;
}

export interface UploadSession {
  readonly token: string;
  /** The stored path the file appears at once completed. */
  readonly path: string;
  readonly overwrite: boolean;
  /** SCIM id of the principal that initiated it; no one else may use it. */
  readonly ownerId: string;
  readonly parts: Map<number, UploadedPart>;
  /** "completing" while parts are assembled: no more parts, no second completion, no abort. */
  state: "open" | "completing";
}

export interface CompletedPart {
  part_number: unknown;
  etag: unknown;
}

const invalid = (message: string): Refusal => new Refusal(400, "INVALID_PARAMETER_VALUE", message);
const busy = (): Refusal => new Refusal(409, "RESOURCE_CONFLICT", "The upload session is being completed.");

/** The answer for an unknown, finished or aborted session (see files-multipart.ts for the choice of 404). */
export function noSuchUpload(): Refusal {
  return new Refusal(404, "NOT_FOUND", "The upload session does not exist: it may have been completed or aborted.");
}

/** Compares ETags as S3 does: with or without the surrounding quotes. */
function sameEtag(a: string, b: string): boolean {
  const bare = (e: string): string => e.replace(/^"(.*)"$/, "$1");
  return bare(a) === bare(b);
}

export class MultipartUploads {
  private readonly sessions = new Map<string, UploadSession>();

  constructor(
    private readonly stagingRoot: string,
    private readonly blobs: BlobStore,
  ) {}

  private folderOf(token: string): string {
    return path.join(this.stagingRoot, token);
  }

  async initiate(storedPath: string, overwrite: boolean, ownerId: string): Promise<UploadSession> {
    const token = randomBytes(24).toString("base64url");
    await mkdir(this.folderOf(token), { recursive: true });
    const session: UploadSession = { token, path: storedPath, overwrite, ownerId, parts: new Map(), state: "open" };
    this.sessions.set(token, session);
    return session;
  }

  /** The session with this token, if it is for this path and owner; else undefined. */
  find(token: string, storedPath: string, ownerId: string): UploadSession | undefined {
    const session = this.sessions.get(token);
    return session && session.path === storedPath && session.ownerId === ownerId ? session : undefined;
  }

  /** Like find(), throwing the NOT_FOUND refusal. */
  require(token: string, storedPath: string, ownerId: string): UploadSession {
    const session = this.find(token, storedPath, ownerId);
    if (!session) throw noSuchUpload();
    return session;
  }

  /**
   * Stores one part from a stream. The part is written under a fresh name and only then
   * takes its number's place, so a cut-off upload leaves the previous one (if any) in force.
   */
  async putPart(session: UploadSession, partNumber: number, body: Readable, expectedBytes?: number): Promise<UploadedPart> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw invalid(`Invalid part number ${partNumber}: between 1 and ${MAX_PART_NUMBER}.`);
    }
    if (session.state !== "open") throw busy();
    const file = path.join(this.folderOf(session.token), `part-${partNumber}-${randomBytes(6).toString("hex")}`);
    const md5 = createHash("md5");
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        done(null, chunk);
      },
    });
    let size: number;
    try {
      await pipeline(body, hashing, createWriteStream(file));
      size = (await stat(file)).size;
      if (expectedBytes !== undefined && size !== expectedBytes) throw new IncompleteBody(`received ${size} of ${expectedBytes} bytes`);
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }
    // Decided without awaiting in between, so a completion that starts now sees either
    // the old part or this one, never a file deleted under it.
    if (this.sessions.get(session.token) !== session || session.state !== "open") {
      await rm(file, { force: true });
      throw this.sessions.has(session.token) ? busy() : noSuchUpload();
    }
    const part: UploadedPart = { partNumber, etag: `"${md5.digest("hex")}"`, size, file };
    const previous = session.parts.get(partNumber);
    session.parts.set(partNumber, part);
    if (previous) await rm(previous.file, { force: true });
    return part;
  }

  /** Checks a completion's part list against the uploaded parts; the parts to assemble, in order. */
  private partsToAssemble(session: UploadSession, listed: unknown): UploadedPart[] {
    if (!Array.isArray(listed) || listed.length === 0) throw invalid("Missing required field: parts (one entry per uploaded part).");
    const chosen: UploadedPart[] = [];
    let last = 0;
    for (const entry of listed as CompletedPart[]) {
      const n = typeof entry === "object" && entry !== null ? Number(entry.part_number) : NaN;
      const etag = typeof entry === "object" && entry !== null ? entry.etag : undefined;
      if (!Number.isInteger(n) || n < 1 || typeof etag !== "string") {
        throw invalid("Each part needs an integer part_number and the etag its upload answered.");
      }
      if (n <= last) throw invalid(`Parts must be listed in ascending order of part_number without repeats: ${n} follows ${last}.`);
      last = n;
      const part = session.parts.get(n);
      if (!part) throw invalid(`Part ${n} was not uploaded in this session.`);
      if (!sameEtag(part.etag, etag)) throw invalid(`The etag of part ${n} does not match the uploaded part.`);
      chosen.push(part);
    }
    return chosen;
  }

  /** 409 ALREADY_EXISTS, as for a single-shot PUT, when a folder, or a file not to be overwritten, is at the path. */
  async refuseOccupied(storedPath: string, overwrite: boolean): Promise<void> {
    const existing = await this.blobs.stat(storedPath);
    if (existing?.isDir) throw new Refusal(409, "ALREADY_EXISTS", "A directory already exists at the file path.");
    if (existing && !overwrite) throw new Refusal(409, "ALREADY_EXISTS", "The file being created already exists.");
  }

  /** Assembles the listed parts, in order, into the file at the session's path; ends the session. */
  async complete(session: UploadSession, listed: unknown): Promise<void> {
    if (session.state !== "open") throw busy();
    const parts = this.partsToAssemble(session, listed);
    await this.refuseOccupied(session.path, session.overwrite);
    session.state = "completing";
    const assembled = path.join(this.folderOf(session.token), `assembled-${randomBytes(6).toString("hex")}`);
    try {
      await pipeline(async function* concatenate() {
        for (const part of parts) yield* createReadStream(part.file);
      }, createWriteStream(assembled));
      // The path may have been taken while the parts were copied.
      await this.refuseOccupied(session.path, session.overwrite);
      await this.blobs.adopt(session.path, assembled);
    } catch (err) {
      session.state = "open";
      await rm(assembled, { force: true });
      throw err;
    }
    await this.discard(session);
  }

  async abort(session: UploadSession): Promise<void> {
    if (session.state !== "open") throw busy();
    await this.discard(session);
  }

  private async discard(session: UploadSession): Promise<void> {
    this.sessions.delete(session.token);
    await rm(this.folderOf(session.token), { recursive: true, force: true });
  }

  /** Drops every session and its parts (the emulator is stopping). */
  async discardAll(): Promise<void> {
    this.sessions.clear();
    await rm(this.stagingRoot, { recursive: true, force: true });
  }
}
