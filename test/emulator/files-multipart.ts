// Multipart uploads through the Files API, as databricks-sdk 0.167.0 mixins/files.py
// speaks them. Its built-in endpoint order starts with IO_OFFLOAD, multipart through
// presigned URLs, for anything from 50 MiB (files.py:1081-1089, config.py:186):
//   POST /api/2.0/fs/files<path>?action=initiate-upload[&overwrite=...]
//     -> {"multipart_upload": {"session_token": "..."}}                    (files.py:2064-2083)
//   POST /api/2.0/fs/create-upload-part-urls
//        {path, session_token, start_part_number, count, expire_time}
//     -> {"upload_part_urls": [{url, part_number, headers: [{name, value}]}]} (files.py:857-885)
//   PUT <url>, without credentials -> 200 and the part's ETag              (files.py:2126-2145)
//   POST ...?action=complete-upload&upload_type=multipart&session_token=...
//        {"parts": [{part_number, etag}]}                                   (files.py:2166-2179)
//   POST ...?action=abort-upload&upload_type=multipart&session_token=...   (files.py:2181-2190)
// The storage proxy's variant sends each part with workspace credentials to
//   PUT /api/2.0/fs/files<path>?session_token=...&upload_type=multipart&part_number=N
// (files.py:900-934, 2365-2378).
//
// Access: the caller (files-api.ts) applies a single-shot PUT's rules on the path to every
// one of these calls. A session belongs to the principal that started it and to its path;
// an unknown session (never started, completed, aborted, or another's) answers 404
// NOT_FOUND, as S3 answers NoSuchUpload with 404: the SDK reads it as NotFound
// (errors/platform.py:91-96) and never retries it (files_utils.py:394-420); once a part was
// acknowledged the upload fails with it, before that the SDK tries its next endpoint.

import type { Request, Response } from "express";
import { type EmulatorContext, callerOf } from "./context.js";
import { Refusal } from "./errors.js";
import { MAX_PART_NUMBER } from "./multipart-uploads.js";
import { contentLengthOf } from "./request-body.js";

/** Limit of a completion's JSON body: 10000 parts of about 70 bytes each. */
export const COMPLETE_BODY_LIMIT = "2mb";

/** Headers each part URL asks for; the SDK adds them to its PUT (files.py:876-881). */
const PART_HEADERS = [{ name: "Content-Type", value: "application/octet-stream" }];

const invalid = (message: string): Refusal => new Refusal(400, "INVALID_PARAMETER_VALUE", message);

function queryText(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

/** The session token of a request naming a multipart session in its query. */
function sessionTokenOf(req: Request): string {
  if (queryText(req, "upload_type") !== "multipart") throw invalid("upload_type must be multipart.");
  const token = queryText(req, "session_token");
  if (!token) throw invalid("Missing required field: session_token");
  return token;
}

function positiveInteger(value: unknown, field: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw invalid(`Invalid ${field} ${JSON.stringify(value)}: a positive integer.`);
  return n;
}

/** POST /api/2.0/fs/files<path>?action=...: starts, completes or aborts a session on the (authorized) stored path. */
export async function fileAction(ctx: EmulatorContext, req: Request, res: Response, storedPath: string, overwrite: boolean): Promise<void> {
  const action = queryText(req, "action");
  const owner = callerOf(res).id;
  if (action === "initiate-upload") {
    // Refused at once, as a single-shot PUT would be, rather than after every part arrived.
    await ctx.uploads.refuseOccupied(storedPath, overwrite);
    const session = await ctx.uploads.initiate(storedPath, overwrite, owner);
    res.json({ multipart_upload: { session_token: session.token } });
    return;
  }
  if (action !== "complete-upload" && action !== "abort-upload") {
    throw invalid(`Invalid action ${JSON.stringify(action ?? null)}: initiate-upload, complete-upload or abort-upload.`);
  }
  const session = ctx.uploads.require(sessionTokenOf(req), storedPath, owner);
  if (action === "complete-upload") {
    const body = (req.body ?? {}) as Record<string, unknown>;
    await ctx.uploads.complete(session, body.parts);
  } else {
    await ctx.uploads.abort(session);
  }
  res.json({});
}

/** PUT /api/2.0/fs/files<path>?session_token=...&upload_type=multipart&part_number=N (the storage proxy's way). */
export async function putPartDirect(ctx: EmulatorContext, req: Request, res: Response, storedPath: string): Promise<void> {
  const session = ctx.uploads.require(sessionTokenOf(req), storedPath, callerOf(res).id);
  const partNumber = positiveInteger(queryText(req, "part_number"), "part_number");
  const part = await ctx.uploads.putPart(session, partNumber, req, contentLengthOf(req));
  res.setHeader("ETag", part.etag);
  res.status(200).end();
}

/**
 * POST /api/2.0/fs/create-upload-part-urls on the (authorized) stored path: signed blob URLs,
 * one per part, issued to the caller. They live until `expire_time` (RFC 3339; the SDK asks
 * for an hour, config.py:233) or the emulator's signed-URL lifetime, whichever ends first.
 */
export function uploadPartUrls(ctx: EmulatorContext, res: Response, storedPath: string, body: Record<string, unknown>): void {
  const owner = callerOf(res).id;
  const token = typeof body.session_token === "string" ? body.session_token : "";
  if (!token) throw invalid("Missing required field: session_token");
  const session = ctx.uploads.require(token, storedPath, owner);
  const start = positiveInteger(body.start_part_number, "start_part_number");
  const count = positiveInteger(body.count, "count");
  if (start + count - 1 > MAX_PART_NUMBER) throw invalid(`Part numbers run from 1 to ${MAX_PART_NUMBER}.`);
  if (typeof body.expire_time !== "string") throw invalid("Missing required field: expire_time");
  const expiresAt = Date.parse(body.expire_time);
  if (Number.isNaN(expiresAt)) throw invalid(`Invalid expire_time ${JSON.stringify(body.expire_time)}: an RFC 3339 timestamp.`);
  const ttlSeconds = Math.min(ctx.blobs.ttlSeconds, Math.floor((expiresAt - Date.now()) / 1000));
  if (ttlSeconds <= 0) throw invalid(`expire_time ${body.expire_time} is not in the future.`);
  const urls = [];
  for (let partNumber = start; partNumber < start + count; partNumber += 1) {
    const url = ctx.blobs.signUrl(session.path, "w", { signer: owner, part: { uploadId: session.token, partNumber }, ttlSeconds });
    urls.push({ url, part_number: partNumber, headers: PART_HEADERS });
  }
  res.json({ upload_part_urls: urls });
}
