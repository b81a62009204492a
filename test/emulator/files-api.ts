// Databricks Files API 2.0 (/api/2.0/fs/files, /api/2.0/fs/directories) and
// the presigned-URL helpers /api/2.0/fs/create-upload-url and
// create-download-url. MLflow's DatabricksSdkArtifactRepository and
// DatabricksSDKModelsArtifactRepository use the Files API through the SDK;
// PresignedUrlArtifactRepository (UC models on default storage) uses the
// presigned helpers plus directory listing.

import express, { type Request, type Response, type Router } from "express";
import { normalizeWorkspacePath } from "./blob-store.js";
import type { EmulatorContext } from "./context.js";
import { sendDatabricksError, sendEndpointNotFound } from "./errors.js";

const PAGE_SIZE_MAX = 1000;

/** Workspace path after a mount point, decoded segment by segment. */
function pathAfterMount(req: Request): string | undefined {
  try {
    const raw = req.path
      .split("/")
      .map((s) => decodeURIComponent(s))
      .join("/");
    return normalizeWorkspacePath(raw);
  } catch {
    return undefined;
  }
}

function fileNotFound(res: Response): void {
  if (res.req.method === "HEAD") {
    res.status(404).end();
    return;
  }
  sendDatabricksError(res, 404, "NOT_FOUND", "The file being accessed is not found.");
}

function dirNotFound(res: Response): void {
  if (res.req.method === "HEAD") {
    res.status(404).end();
    return;
  }
  sendDatabricksError(res, 404, "NOT_FOUND", "The directory being accessed is not found.");
}

async function filesHandler(ctx: EmulatorContext, req: Request, res: Response): Promise<void> {
  const p = pathAfterMount(req);
  if (!p || p === "/") {
    sendDatabricksError(res, 400, "INVALID_PARAMETER_VALUE", "A file path is required.");
    return;
  }
  const existing = await ctx.blobs.stat(p);
  switch (req.method) {
    case "GET":
    case "HEAD": {
      if (!existing || existing.isDir) return fileNotFound(res);
      res.sendFile(ctx.blobs.filePath(p), { headers: { "Content-Type": "application/octet-stream" }, dotfiles: "allow" });
      return;
    }
    case "PUT": {
      if (existing?.isDir) {
        sendDatabricksError(res, 409, "ALREADY_EXISTS", "A directory already exists at the file path.");
        return;
      }
      if (existing && req.query.overwrite !== "true") {
        sendDatabricksError(res, 409, "ALREADY_EXISTS", "The file being created already exists.");
        return;
      }
      await ctx.blobs.write(p, req);
      res.status(204).end();
      return;
    }
    case "DELETE": {
      if (!existing || existing.isDir) return fileNotFound(res);
      await ctx.blobs.remove(p);
      res.status(204).end();
      return;
    }
    case "POST":
      // Multipart sessions (action=initiate-upload) are not emulated; the SDK
      // then falls back to a single-shot PUT, which every workspace accepts.
      sendDatabricksError(res, 501, "NOT_IMPLEMENTED", "Multipart uploads are not supported by this workspace.");
      return;
    default:
      sendEndpointNotFound(res, req.method, req.originalUrl);
  }
}

async function directoriesHandler(ctx: EmulatorContext, req: Request, res: Response): Promise<void> {
  const p = pathAfterMount(req);
  if (!p) {
    sendDatabricksError(res, 400, "INVALID_PARAMETER_VALUE", "Invalid directory path.");
    return;
  }
  const existing = await ctx.blobs.stat(p);
  switch (req.method) {
    case "HEAD":
      res.status(existing?.isDir ? 200 : 404).end();
      return;
    case "GET": {
      const entries = await ctx.blobs.list(p);
      if (!entries) return dirNotFound(res);
      const pageSize = Math.min(PAGE_SIZE_MAX, Number(req.query.page_size ?? PAGE_SIZE_MAX) || PAGE_SIZE_MAX);
      const start = Number(req.query.page_token ?? 0) || 0;
      const page = entries.slice(start, start + pageSize);
      const body: Record<string, unknown> = {
        contents: page.map((e) => ({
          path: e.path,
          is_directory: e.isDir,
          ...(e.isDir ? {} : { file_size: e.size, last_modified: Math.floor(e.mtimeMs) }),
          name: e.name,
        })),
      };
      if (start + pageSize < entries.length) body.next_page_token = String(start + pageSize);
      res.json(body);
      return;
    }
    case "PUT":
      if (existing && !existing.isDir) {
        sendDatabricksError(res, 409, "ALREADY_EXISTS", "A file already exists at the directory path.");
        return;
      }
      await ctx.blobs.mkdir(p);
      res.status(204).end();
      return;
    case "DELETE": {
      const entries = await ctx.blobs.list(p);
      if (!entries) return dirNotFound(res);
      if (entries.length > 0) {
        sendDatabricksError(res, 409, "DIRECTORY_NOT_EMPTY", "The directory being deleted is not empty.");
        return;
      }
      await ctx.blobs.remove(p, true);
      res.status(204).end();
      return;
    }
    default:
      sendEndpointNotFound(res, req.method, req.originalUrl);
  }
}

/** `path` from a JSON body (MLflow) or from the query string (the SDK). */
function requestedPath(req: Request): string | undefined {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const raw = typeof body.path === "string" ? body.path : typeof req.query.path === "string" ? req.query.path : undefined;
  if (!raw) return undefined;
  try {
    return normalizeWorkspacePath(raw);
  } catch {
    return undefined;
  }
}

export function filesApiRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  const wrap =
    (fn: (ctx: EmulatorContext, req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: (err?: unknown) => void): void => {
      fn(ctx, req, res).catch(next);
    };
  router.use("/api/2.0/fs/files", wrap(filesHandler));
  router.use("/api/2.0/fs/directories", wrap(directoriesHandler));

  router.post("/api/2.0/fs/create-upload-url", express.json(), (req, res) => {
    const p = requestedPath(req);
    if (!p) return sendDatabricksError(res, 400, "INVALID_PARAMETER_VALUE", "Missing required field: path");
    res.json({ url: ctx.blobs.signUrl(p, "w"), headers: [] });
  });

  router.post("/api/2.0/fs/create-download-url", express.json(), async (req, res) => {
    const p = requestedPath(req);
    if (!p) return sendDatabricksError(res, 400, "INVALID_PARAMETER_VALUE", "Missing required field: path");
    const s = await ctx.blobs.stat(p);
    if (!s || s.isDir) return fileNotFound(res);
    res.json({ url: ctx.blobs.signUrl(p, "r"), headers: [] });
  });

  // Endpoint discovery is rolled out per workspace; answering 404 makes the
  // SDK use its built-in order (presigned URLs, then Files API 2.0).
  router.get("/api/2.0/fs/endpoints", (req, res) => sendEndpointNotFound(res, req.method, req.originalUrl));

  return router;
}
