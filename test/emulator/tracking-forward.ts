// Forwards MLflow tracking calls (/api/2.0/mlflow, /api/2.1/mlflow,
// /api/3.0/mlflow) to the backing open-source server. The caller's
// Authorization is stripped (the backing server has no auth) and Host is
// rewritten so MLflow's Host-header check accepts the request. What makes the
// answers Databricks' (experiments as workspace objects, access checks, runs
// owned by the caller) lives in tracking-rules.ts.

import http from "node:http";
import { pipeline } from "node:stream";
import type { Request, Response } from "express";
import type { EmulatorContext } from "./context.js";
import { sendDatabricksError, sendEndpointNotFound } from "./errors.js";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export interface ForwardOptions {
  /** Replacement request body (already parsed and re-serialised). */
  body?: Buffer;
  /** Replacement path and query (default: the request's own). */
  url?: string;
  /** Rewrites a JSON response body. */
  rewrite?: (text: string) => string;
}

function requestHeaders(req: Request, host: string, body: Buffer | undefined): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (HOP_BY_HOP.has(name) || name === "authorization" || name === "host" || value === undefined) continue;
    headers[name] = value;
  }
  headers.host = host;
  if (body) {
    headers["content-length"] = String(body.length);
    headers["content-type"] = "application/json";
  }
  return headers;
}

function responseHeaders(up: http.IncomingMessage): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(up.headers)) {
    if (HOP_BY_HOP.has(name) || value === undefined) continue;
    headers[name] = value;
  }
  return headers;
}

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

/** Sends the request on to the backing server and relays its answer (streamed unless rewritten). */
export function forward(ctx: EmulatorContext, req: Request, res: Response, options: ForwardOptions = {}): void {
  const target = new URL(options.url ?? req.originalUrl, ctx.backingUrl());
  const upstream = http.request(target, { method: req.method, headers: requestHeaders(req, target.host, options.body) }, (up) => {
    const status = up.statusCode ?? 502;
    const type = String(up.headers["content-type"] ?? "");
    const rewrite = options.rewrite && type.includes("json") ? options.rewrite : undefined;
    if (status === 404 || status === 405 || rewrite) {
      collect(up)
        .then((buf) => {
          const text = buf.toString("utf8");
          // Unknown routes answer HTML or {"detail": ...}; Databricks says ENDPOINT_NOT_FOUND.
          if ((status === 404 || status === 405) && !text.includes('"error_code"')) {
            sendEndpointNotFound(res, req.method, target.pathname);
            return;
          }
          const out = Buffer.from(rewrite ? rewrite(text) : text, "utf8");
          const headers = responseHeaders(up);
          headers["content-length"] = String(out.length);
          res.writeHead(status, headers).end(out);
        })
        .catch(() => res.destroy());
      return;
    }
    res.writeHead(status, responseHeaders(up));
    pipeline(up, res, () => undefined);
  });
  upstream.on("error", (err) => {
    sendDatabricksError(res, 503, "TEMPORARILY_UNAVAILABLE", `The MLflow service is temporarily unavailable: ${err.message}`);
  });
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (options.body) upstream.end(options.body);
  else pipeline(req, upstream, () => undefined);
}
