// Databricks Files API 2.0 (/api/2.0/fs/files, /api/2.0/fs/directories) and
// the presigned-URL helpers /api/2.0/fs/create-upload-url and
// create-download-url. MLflow's DatabricksSdkArtifactRepository and
// DatabricksSDKModelsArtifactRepository use the Files API through the SDK;
// PresignedUrlArtifactRepository (UC models on default storage) uses the
// presigned helpers plus directory listing. Which paths are reachable, and
// by whom, is decided in files-access.ts.
//
// Behaviour (databricks-sdk 0.167.0 service/files.py:782-1040 and
// docs.databricks.com/api/files/v2/upload-file.md unless noted):
// - upload: "If true or unspecified, an existing file will be overwritten";
//   overwrite=false on an existing file answers 409 ALREADY_EXISTS
//   (databricks/cli libs/filer/files_client.go Write); parents are created
//   (sdk-py tests/integration/test_files.py uploads into a new folder);
// - mkdir creates parents and is idempotent (files.py:802-821);
// - deleting a non-empty folder answers 400 INVALID_PARAMETER_VALUE with the
//   ErrorInfo reason FILES_API_DIRECTORY_IS_NOT_EMPTY, which the CLI branches on
//   (databricks/cli libs/filer/files_client.go deleteDirectory and its test);
// - a missing folder is 404 with error_code NOT_FOUND, which MLflow's
//   presigned repository needs to read as "empty" (presigned_url_artifact_repo.py:106-140);
//   HEAD answers carry no body;
// - an upload is atomic: the body goes to a temporary name renamed over the path
//   once complete, so a client that disconnects half-way leaves the old file (or
//   nothing); a PUT without Content-Length or chunked encoding is refused 411
//   (request-body.ts);
// - a download honours one `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` with 206,
//   Content-Range and Content-Length, as the SDK's ranged downloads expect
//   (mixins/files.py:1874-1915 `_range_headers`, `_check_range`), 416 with
//   `Content-Range: bytes */<size>` when unsatisfiable, and 412 when
//   If-Unmodified-Since no longer holds (files_utils.py:411-420 raises on 412);
// - multipart uploads: files-multipart.ts.

import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { IncompleteBody, normalizeWorkspacePath } from "./blob-store.js";
import { type EmulatorContext, callerOf } from "./context.js";
import { Refusal, sendEndpointNotFound } from "./errors.js";
import { type FileEndpoint, type FileOp, type FileTarget, authorizeFilePath } from "./files-access.js";
import { COMPLETE_BODY_LIMIT, fileAction, putPartDirect, uploadPartUrls } from "./files-multipart.js";
import { contentLengthOf, hasBodyFraming } from "./request-body.js";
import { refusing } from "./uc-http.js";
import { UcRefusal, invalid } from "./uc-privileges.js";

const PAGE_SIZE_MAX = 1000;

/** Workspace path after a mount point, decoded segment by segment. */
function pathAfterMount(req: Request): string {
  try {
    const raw = req.path
      .split("/")
      .map((s) => decodeURIComponent(s))
      .join("/");
    return normalizeWorkspacePath(raw);
  } catch {
    throw invalid("Invalid path.");
  }
}

const fileNotFound = (): UcRefusal => new UcRefusal(404, "NOT_FOUND", "The file being accessed is not found.");
const dirNotFound = (): UcRefusal => new UcRefusal(404, "NOT_FOUND", "The directory being accessed is not found.");

function authorize(ctx: EmulatorContext, res: Response, path: string, op: FileOp, endpoint: FileEndpoint): Promise<FileTarget> {
  return authorizeFilePath(ctx, callerOf(res), path, op, endpoint, res.req.method);
}

/** `overwrite`: unspecified or "true" overwrites, "false" does not; anything else is invalid. */
function overwriteOf(req: Request): boolean {
  const raw = req.query.overwrite;
  if (raw === undefined || raw === "true") return true;
  if (raw === "false") return false;
  throw invalid(`Invalid overwrite ${JSON.stringify(raw)}: true or false.`);
}

/**
 * Streams a stored file; `send` (behind res.sendFile) answers HEAD, a single byte range
 * (206, Content-Range, Content-Length, Accept-Ranges: bytes) and If-Unmodified-Since. Its
 * refusals become Databricks errors here; a client gone mid-stream just ends the answer.
 */
function sendStoredFile(res: Response, file: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    res.sendFile(file, { headers: { "Content-Type": "application/octet-stream" }, dotfiles: "allow" }, (err: unknown) => {
      if (!err) return resolve();
      if (res.headersSent) {
        res.destroy();
        return resolve();
      }
      const status = (err as { status?: unknown }).status;
      if (status === 416) {
        res.setHeader("Content-Range", `bytes */${size}`);
        return reject(new Refusal(416, "INVALID_PARAMETER_VALUE", `The requested range is not satisfiable: the file has ${size} bytes.`));
      }
      if (status === 412)
        return reject(new Refusal(412, "FAILED_PRECONDITION", "The file was modified after the time given in If-Unmodified-Since."));
      reject(err instanceof Error ? err : new Error("sendFile failed"));
    });
  });
}

/** Single-shot upload: all of the body, or nothing, lands at the path. */
async function putFile(ctx: EmulatorContext, req: Request, res: Response, p: string, overwrite: boolean): Promise<void> {
  const existing = await ctx.blobs.stat(p);
  if (existing?.isDir) throw new UcRefusal(409, "ALREADY_EXISTS", "A directory already exists at the file path.");
  if (existing && !overwrite) throw new UcRefusal(409, "ALREADY_EXISTS", "The file being created already exists.");
  try {
    await ctx.blobs.write(p, req, contentLengthOf(req));
  } catch (err) {
    // A body that ended early: the client is gone or lied about the length; nothing was stored.
    if (err instanceof IncompleteBody) throw invalid(`The upload was incomplete (${err.message}); nothing was stored.`);
    throw err;
  }
  res.status(204).end();
}

async function filesHandler(ctx: EmulatorContext, req: Request, res: Response): Promise<void> {
  const requested = pathAfterMount(req);
  if (requested === "/") throw invalid("A file path is required.");
  const method = req.method;
  if (!["GET", "HEAD", "PUT", "DELETE", "POST"].includes(method)) return sendEndpointNotFound(res, method, req.originalUrl);
  if (method === "PUT" && !hasBodyFraming(req)) {
    throw new Refusal(
      411,
      "INVALID_PARAMETER_VALUE",
      "Content-Length is required: send the body with a Content-Length header (0 for an empty file).",
    );
  }
  const { path: p } = await authorize(ctx, res, requested, method === "GET" || method === "HEAD" ? "read" : "write", "files");
  if (method === "GET" || method === "HEAD") {
    const existing = await ctx.blobs.stat(p);
    if (!existing || existing.isDir) throw fileNotFound();
    await sendStoredFile(res, ctx.blobs.filePath(p), existing.size);
  } else if (method === "PUT" && req.query.upload_type !== undefined) {
    await putPartDirect(ctx, req, res, p);
  } else if (method === "PUT") {
    await putFile(ctx, req, res, p, overwriteOf(req));
  } else if (method === "DELETE") {
    const existing = await ctx.blobs.stat(p);
    if (!existing || existing.isDir) throw fileNotFound();
    await ctx.blobs.remove(p);
    res.status(204).end();
  } else {
    await fileAction(ctx, req, res, p, overwriteOf(req));
  }
}

async function directoriesHandler(ctx: EmulatorContext, req: Request, res: Response): Promise<void> {
  const method = req.method;
  if (!["GET", "HEAD", "PUT", "DELETE"].includes(method)) return sendEndpointNotFound(res, method, req.originalUrl);
  const target = await authorize(ctx, res, pathAfterMount(req), method === "GET" || method === "HEAD" ? "read" : "write", "directories");
  const p = target.path;
  const existing = await ctx.blobs.stat(p);
  if (method === "HEAD") {
    if (!existing?.isDir) throw dirNotFound();
    res.status(200).end();
  } else if (method === "GET") {
    const entries = await ctx.blobs.list(p);
    if (!entries) throw dirNotFound();
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
  } else if (method === "PUT") {
    if (existing && !existing.isDir) throw new UcRefusal(409, "ALREADY_EXISTS", "A file already exists at the directory path.");
    await ctx.blobs.mkdir(p);
    res.status(204).end();
  } else {
    if (p === target.root) throw invalid(`The root of ${p} cannot be deleted through the Files API.`);
    const entries = await ctx.blobs.list(p);
    if (!entries) throw dirNotFound();
    if (entries.length > 0) {
      throw new UcRefusal(400, "INVALID_PARAMETER_VALUE", "The directory being deleted is not empty.", [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "FILES_API_DIRECTORY_IS_NOT_EMPTY", domain: "filesystem.databricks.com" },
      ]);
    }
    await ctx.blobs.remove(p, true);
    res.status(204).end();
  }
}

/** `path` from a JSON body (MLflow) or from the query string (the SDK). */
function requestedPath(req: Request): string {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const raw = typeof body.path === "string" ? body.path : typeof req.query.path === "string" ? req.query.path : undefined;
  if (!raw) throw invalid("Missing required field: path");
  try {
    return normalizeWorkspacePath(raw);
  } catch {
    throw invalid("Invalid path.");
  }
}

export function filesApiRouter(ctx: EmulatorContext): Router {
  const router = express.Router();
  // JSON bodies only on POST (complete-upload): a PUT's body is the file, whatever its type.
  const completionBody = express.json({ limit: COMPLETE_BODY_LIMIT });
  const jsonOnPost = (req: Request, res: Response, next: NextFunction): void => {
    if (req.method === "POST") completionBody(req, res, next);
    else next();
  };
  router.use(
    "/api/2.0/fs/files",
    jsonOnPost,
    refusing((req, res) => filesHandler(ctx, req, res)),
  );
  router.use(
    "/api/2.0/fs/directories",
    refusing((req, res) => directoriesHandler(ctx, req, res)),
  );

  router.post(
    "/api/2.0/fs/create-upload-url",
    express.json(),
    refusing(async (req, res) => {
      const { path } = await authorize(ctx, res, requestedPath(req), "write", "signed-url");
      res.json({ url: ctx.blobs.signUrl(path, "w", { signer: callerOf(res).id }), headers: [] });
    }),
  );

  // Part URLs of a multipart session, on a path the session's file may be written to.
  router.post(
    "/api/2.0/fs/create-upload-part-urls",
    express.json(),
    refusing(async (req, res) => {
      const { path } = await authorize(ctx, res, requestedPath(req), "write", "files");
      uploadPartUrls(ctx, res, path, (req.body ?? {}) as Record<string, unknown>);
    }),
  );

  router.post(
    "/api/2.0/fs/create-download-url",
    express.json(),
    refusing(async (req, res) => {
      const { path } = await authorize(ctx, res, requestedPath(req), "read", "signed-url");
      const s = await ctx.blobs.stat(path);
      if (!s || s.isDir) throw fileNotFound();
      res.json({ url: ctx.blobs.signUrl(path, "r", { signer: callerOf(res).id }), headers: [] });
    }),
  );

  // Endpoint discovery is rolled out per workspace; answering 404 makes the
  // SDK use its built-in order (presigned URLs, then Files API 2.0).
  router.get("/api/2.0/fs/endpoints", (req, res) => sendEndpointNotFound(res, req.method, req.originalUrl));

  return router;
}
