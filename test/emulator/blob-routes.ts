// The "cloud storage" behind signed URLs: GET/HEAD/PUT /blob/<workspace path>
// with an HMAC signature and expiry in the query, no bearer token, like an S3
// presigned URL. Errors are S3-style XML because MLflow's and the SDK's
// presigned-URL code paths expect cloud-storage answers here (the SDK detects
// an expired URL by the <Code>AccessDenied</Code>/"Request has expired" body).

import { randomBytes } from "node:crypto";
import express, { type Request, type Response, type Router } from "express";
import { type SignedUrlCheck, normalizeWorkspacePath } from "./blob-store.js";
import type { CallerLocals, EmulatorContext } from "./context.js";
import { Refusal } from "./errors.js";
import { contentLengthOf, hasBodyFraming } from "./request-body.js";

function s3Error(res: Response, status: number, code: string, message: string): void {
  // A client that hung up has no one to read the answer.
  if (res.destroyed) return;
  res
    .status(status)
    .type("application/xml")
    .send(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString("hex")}</RequestId></Error>`,
    );
}

function workspacePathOf(req: Request): string | undefined {
  try {
    const raw = (req.originalUrl.split("?")[0] ?? "").replace(/^\/blob/, "");
    return normalizeWorkspacePath(
      raw
        .split("/")
        .map((s) => decodeURIComponent(s))
        .join("/"),
    );
  } catch {
    return undefined;
  }
}

/**
 * Checks the signature for the operation and records whom the URL was issued to; answers
 * and returns undefined when it fails.
 */
function authorized(ctx: EmulatorContext, req: Request, res: Response, op: "r" | "w", p: string): SignedUrlCheck | undefined {
  const check = ctx.blobs.checkSignedUrl(p, op, req.query);
  if (check.result === "bad") {
    s3Error(res, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
    return undefined;
  }
  const locals = res.locals as CallerLocals;
  locals.credential = "signed_url";
  const signer = ctx.directory.find(check.signer);
  if (signer) locals.signedFor = signer;
  if (check.result === "expired") {
    s3Error(res, 403, "AccessDenied", "Request has expired");
    return undefined;
  }
  return check;
}

/** One part of a multipart upload (multipart-uploads.ts), as S3's UploadPart answers it. */
async function putPart(ctx: EmulatorContext, req: Request, res: Response, p: string, part: { uploadId: string; partNumber: number }, signer: string) {
  const session = ctx.uploads.find(part.uploadId, p, signer);
  if (!session) {
    return s3Error(
      res,
      404,
      "NoSuchUpload",
      "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    );
  }
  if (!hasBodyFraming(req)) return s3Error(res, 411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
  try {
    const stored = await ctx.uploads.putPart(session, part.partNumber, req, contentLengthOf(req));
    res.setHeader("ETag", stored.etag);
    res.status(200).end();
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    if (err.status === 404) return s3Error(res, 404, "NoSuchUpload", err.message);
    s3Error(res, err.status === 400 ? 400 : 409, err.status === 400 ? "InvalidArgument" : "OperationAborted", err.message);
  }
}

export function blobRouter(ctx: EmulatorContext): Router {
  const router = express.Router();

  router.get("/blob/*path", async (req, res, next) => {
    const p = workspacePathOf(req);
    if (!p) return s3Error(res, 400, "InvalidURI", "Couldn't parse the specified URI.");
    if (!authorized(ctx, req, res, "r", p)) return;
    const s = await ctx.blobs.stat(p);
    if (!s || s.isDir) return s3Error(res, 404, "NoSuchKey", "The specified key does not exist.");
    // sendFile handles HEAD, Range and Last-Modified, which the SDK's downloader uses.
    res.sendFile(ctx.blobs.filePath(p), { headers: { "Content-Type": "application/octet-stream" }, dotfiles: "allow" }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });

  router.put("/blob/*path", async (req, res) => {
    const p = workspacePathOf(req);
    if (!p) return s3Error(res, 400, "InvalidURI", "Couldn't parse the specified URI.");
    const check = authorized(ctx, req, res, "w", p);
    if (!check) return;
    if (check.part) return putPart(ctx, req, res, p, check.part, check.signer);
    // Atomic, as an object store's PUT is: a cut-off body stores nothing.
    const s = await ctx.blobs.write(p, req, contentLengthOf(req));
    // S3 answers an ETag per object or part; multipart callers collect them.
    res.setHeader("ETag", `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`);
    res.status(200).end();
  });

  router.delete("/blob/*path", async (req, res) => {
    const p = workspacePathOf(req);
    if (!p) return s3Error(res, 400, "InvalidURI", "Couldn't parse the specified URI.");
    const check = authorized(ctx, req, res, "w", p);
    if (!check) return;
    // A part URL uploads one part; it deletes nothing.
    if (check.part) return s3Error(res, 403, "AccessDenied", "A part upload URL cannot delete.");
    await ctx.blobs.remove(p);
    res.status(204).end();
  });

  return router;
}
