import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { GatewayError } from "../errors.js";
import { WorkspaceError, type WorkspaceClient } from "./workspace-client.js";

/**
 * Stock MLflow answers /model-versions/get-artifact for a Unity Catalog model by asking
 * for the version's raw storage location and reading it without scoped credentials,
 * which fails (mlflow/server/handlers.py, get_model_version_artifact_handler). Unity
 * Catalog serves the same files through the Files API under /Models/<catalog>/<schema>/
 * <model>/<version>/ (the path MLflow's DatabricksSDKModelsArtifactRepository uses), so
 * the gateway reads them there as the service principal.
 */
export interface ModelVersionFile {
  /** Files API path: /api/2.0/fs/files/Models/<catalog>/<schema>/<model>/<version>/<path>, each segment encoded. */
  filesApiPath: string;
  fileName: string;
}

const THREE_LEVEL_NAME = /^[^./\s]+\.[^./\s]+\.[^./\s]+$/;

export function modelVersionFile(query: URLSearchParams): ModelVersionFile {
  const name = query.get("name") ?? "";
  const version = query.get("version") ?? "";
  const path = query.get("path") ?? "";
  if (!THREE_LEVEL_NAME.test(name)) throw badRequest(`"name" must be a Unity Catalog model name catalog.schema.model`);
  if (!/^\d+$/.test(version)) throw badRequest(`"version" must be a model version number`);
  const segments = path.split("/");
  if (path === "" || path.startsWith("/") || segments.some((s) => s === "" || s === "." || s === "..") || /[\u0000-\u001f\\]/.test(path)) {
    throw badRequest(`"path" must be a relative file path inside the model version`);
  }
  const encoded = [...name.split("."), version, ...segments].map(encodeURIComponent).join("/");
  return { filesApiPath: `/api/2.0/fs/files/Models/${encoded}`, fileName: segments[segments.length - 1] ?? path };
}

/** MLflow's own choice (mlflow/utils/mime_type_utils.py): text files as text/plain, the rest as a download. */
const TEXT_EXTENSIONS = new Set(
  "txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv tsv md rst ipynb MLmodel MLproject".split(" "),
);
const IMAGE_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp" };

export function contentTypeFor(fileName: string): string {
  const dot = fileName.lastIndexOf(".");
  const extension = dot === -1 ? fileName : fileName.slice(dot + 1);
  if (TEXT_EXTENSIONS.has(extension)) return "text/plain";
  return IMAGE_TYPES[extension.toLowerCase()] ?? "application/octet-stream";
}

/** Always an attachment, as MLflow does, so a file is never rendered on the app's origin. */
export function attachmentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

function badRequest(message: string): GatewayError {
  return new GatewayError("PARAMETER_REJECTED", `Invalid model version artifact request: ${message}.`);
}

/** Streams one model-version file from the Files API to the caller. */
export async function serveModelVersionArtifact(client: WorkspaceClient, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const file = modelVersionFile(query);
  let response: Response;
  try {
    response = await client.request(file.filesApiPath);
  } catch (error) {
    if (error instanceof WorkspaceError && error.failure === "forbidden") {
      throw new GatewayError("BACKEND_FORBIDDEN", `The app's service principal may not read this model version's files: ${error.message}.`);
    }
    throw new GatewayError(
      "BACKEND_UNAVAILABLE",
      `Could not read the model version's file from Databricks: ${error instanceof Error ? error.message : String(error)}.`,
      {
        retryAfterSeconds: 5,
      },
    );
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw new GatewayError(
      "ARTIFACT_NOT_FOUND",
      `No file ${query.get("path") ?? ""} in ${query.get("name") ?? ""} version ${query.get("version") ?? ""}.`,
    );
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new GatewayError("BACKEND_UNAVAILABLE", `Databricks answered ${response.status} for the model version's file.`, { retryAfterSeconds: 5 });
  }
  res.statusCode = 200;
  res.setHeader("Content-Type", contentTypeFor(file.fileName));
  res.setHeader("Content-Disposition", attachmentDisposition(file.fileName));
  res.setHeader("X-Content-Type-Options", "nosniff");
  const length = response.headers.get("content-length");
  if (length !== null) res.setHeader("Content-Length", length);
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), res);
}
