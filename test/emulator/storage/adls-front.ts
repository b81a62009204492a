// An HTTPS front that makes Azurite look like an ADLS Gen2 account to
// MLflow. MLflow's AzureDataLakeArtifactRepository (for Unity Catalog's
// azure_user_delegation_sas credentials) calls
//   https://<account>.<domain_suffix>/<filesystem>/<path>?<sas>
// with the Data Lake (DFS) API, and reads through the SDK's BlobClient on the
// same host (azure-storage-file-datalake derives the blob URL by replacing
// ".dfs." in the host, a no-op for 127.0.0.1). So the front:
//   * translates the DFS operations in dfs-to-blob.ts onto Azurite's Blob API,
//   * passes every other (Blob API) request through unchanged,
// in both cases with the caller's SAS query parameters forwarded byte for byte,
// so Azurite alone validates each request. Azurite is addressed path-style
// (https://127.0.0.1:<port>/<account>/...), so the front adds the account
// segment that the client's IP-style URL lacks.

import https from "node:https";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { type BlobCall, BlobCallError, type DfsAnswer, appendData, createFile, dfsError, flushData, listPaths } from "./dfs-to-blob.js";
import { HTTPS_CALL_TIMEOUT_MS, httpsCall } from "./https-call.js";

export interface AdlsFrontOptions {
  /** Azurite's account URL, https://127.0.0.1:<port>/<account>. */
  blobServiceUrl: string;
  /** TLS certificate and key the front serves, and the CA that signed Azurite's. */
  certPem: string;
  keyPem: string;
  caPem: string;
  /** Port to listen on (0: any free one). */
  port?: number;
}

export interface AdlsFront {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Query parameters that make up a SAS; they travel to Azurite unchanged. */
const SAS_PARAMS = new Set(
  "sv ss srt sp se st spr sip si sr sig ses sdd skoid sktid skt ske sks skv saoid suoid scid skdutid sduoid rscc rscd rsce rscl rsct".split(" "),
);
/** Hop-by-hop headers never forwarded. */
const HOP_HEADERS = new Set(["host", "connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"]);

function withoutHopHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_HEADERS.has(name) && value !== undefined) out[name] = value;
  return out;
}

function sasOf(rawQuery: string): string {
  return rawQuery
    .split("&")
    .filter((pair) => SAS_PARAMS.has(pair.split("=")[0] ?? ""))
    .join("&");
}

function send(res: ServerResponse, answer: DfsAnswer): void {
  const body = answer.json === undefined ? undefined : Buffer.from(JSON.stringify(answer.json));
  const headers: Record<string, string> = { ...answer.headers };
  if (body) {
    headers["content-type"] = "application/json;charset=utf-8";
    headers["content-length"] = String(body.length);
  }
  res.writeHead(answer.status, headers);
  res.end(body);
}

export function startAdlsFront(options: AdlsFrontOptions): Promise<AdlsFront> {
  const upstream = (method: string, path: string, query: string, headers: Record<string, string>, body?: Buffer | Readable) =>
    httpsCall({ url: `${options.blobServiceUrl}${path}${query ? `?${query}` : ""}`, method, headers, ca: options.caPem, ...(body ? { body } : {}) });

  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.url ?? "/";
    const queryAt = target.indexOf("?");
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    const rawQuery = queryAt < 0 ? "" : target.slice(queryAt + 1);
    const params = new URLSearchParams(rawQuery);
    const sas = sasOf(rawQuery);
    const blob: BlobCall = (method, blobPath, blobQuery, headers, body) =>
      upstream(method, blobPath, [blobQuery, sas].filter(Boolean).join("&"), headers, body);
    const resource = params.get("resource");
    const action = params.get("action");
    const filesystem = path.split("/")[1] ?? "";
    const position = Number(params.get("position"));
    if ((action === "append" || action === "flush") && !/^\d+$/.test(params.get("position") ?? "")) {
      return send(res, dfsError(400, "InvalidQueryParameterValue", "The position query parameter must be a non-negative integer."));
    }

    if (req.method === "PUT" && resource === "file") return send(res, await createFile(blob, path, req.headers));
    if (req.method === "PATCH" && action === "append") {
      const appended = await appendData(blob, path, position, req.headers, req);
      // flush=true commits in the same call (MLflow's single-chunk upload, mlflow/azure/client.py).
      if (params.get("flush") !== "true") return send(res, appended);
      return send(res, await flushData(blob, path, position + Number(req.headers["content-length"] ?? "0"), req.headers));
    }
    if (req.method === "PATCH" && action === "flush") return send(res, await flushData(blob, path, position, req.headers));
    if (req.method === "GET" && resource === "filesystem") return send(res, await listPaths(blob, filesystem, params, req.headers));
    if (resource !== null || action !== null) {
      return send(
        res,
        dfsError(
          400,
          "UnsupportedOperation",
          `This emulator's DFS front does not translate ${req.method ?? ""} resource=${resource ?? ""} action=${action ?? ""}.`,
        ),
      );
    }
    // Blob API (reads through the SDK's BlobClient): relayed as is, streaming both ways.
    await relay(req, res, target);
  };

  const relay = (req: IncomingMessage, res: ServerResponse, target: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const up = https.request(
        `${options.blobServiceUrl}${target}`,
        { method: req.method ?? "GET", headers: withoutHopHeaders(req.headers), ca: options.caPem, timeout: HTTPS_CALL_TIMEOUT_MS },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, withoutHopHeaders(answer.headers));
          answer.pipe(res);
          answer.on("end", resolve);
          answer.on("error", reject);
        },
      );
      up.on("timeout", () => up.destroy(new Error(`Azurite did not answer ${req.method ?? ""} within ${HTTPS_CALL_TIMEOUT_MS} ms`)));
      up.on("error", reject);
      req.pipe(up);
    });

  const server = https.createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
    dispatch(req, res).catch((err: unknown) => {
      if (err instanceof BlobCallError) return send(res, dfsError(err.answer.status, err.code, err.message));
      if (res.headersSent) return res.destroy();
      send(res, dfsError(500, "InternalError", `DFS front: ${err instanceof Error ? err.message : String(err)}`));
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      let stopped: Promise<void> | undefined;
      resolve({
        url: `https://127.0.0.1:${port}`,
        port,
        stop: () => {
          stopped ??= new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          });
          return stopped;
        },
      });
    });
  });
}
