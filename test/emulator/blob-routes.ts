// The "cloud storage" behind signed URLs: GET/HEAD/PUT /blob/<workspace path>
// with an HMAC signature and expiry in the query, no bearer token, like an S3
// presigned URL. Errors are S3-style XML because MLflow's and the SDK's
// presigned-URL code paths expect cloud-storage answers here (the SDK detects
// an expired URL by the <Code>AccessDenied</Code>/"Request has expired" body).

import { randomBytes } from "node:crypto";
import express, { type Request, type Response, type Router } from "express";
import { recordCalls } from "./auth-middleware.js";
import { normalizeWorkspacePath } from "./blob-store.js";
import type { CallerLocals, EmulatorContext } from "./context.js";

function s3Error(res: Response, status: number, code: string, message: string): void {
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

/** Checks the signature for the operation; answers and returns false when it fails. */
function authorized(ctx: EmulatorContext, req: Request, res: Response, op: "r" | "w", p: string): boolean {
  const q = req.query as Record<string, unknown>;
  const check = ctx.blobs.checkSignature(p, op, typeof q.expires === "string" ? q.expires : "", typeof q.sig === "string" ? q.sig : "");
  if (check === "bad" || q.op !== op) {
    s3Error(res, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
    return false;
  }
  if (check === "expired") {
    s3Error(res, 403, "AccessDenied", "Request has expired");
    return false;
  }
  (res.locals as CallerLocals).credential = "signed_url";
  return true;
}

export function blobRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  router.use("/blob", recordCalls(ctx, "blob"));

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
    if (!authorized(ctx, req, res, "w", p)) return;
    const s = await ctx.blobs.write(p, req);
    // S3 answers an ETag per object or part; multipart callers collect them.
    res.setHeader("ETag", `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`);
    res.status(200).end();
  });

  router.delete("/blob/*path", async (req, res) => {
    const p = workspacePathOf(req);
    if (!p) return s3Error(res, 400, "InvalidURI", "Couldn't parse the specified URI.");
    if (!authorized(ctx, req, res, "w", p)) return;
    await ctx.blobs.remove(p);
    res.status(204).end();
  });

  return router;
}
