import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../errors.js";
import { redactSecrets } from "../log/create-logger.js";
import { isApiPath } from "../request/api-paths.js";
import { observeResponseBody } from "../request/body-observer.js";
import { contextOf } from "../request/request-context.js";
import { sendError } from "../request/send-error.js";

/** Connection-level headers (RFC 9110 section 7.6.1) describe one hop and are not relayed. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/**
 * Relays the child's answer to the client, streaming. One exception: a server error
 * that is not JSON on an API path (Flask's HTML page for an unhandled exception) is
 * replaced by an MLflow-shaped error, because MLflow clients cannot read the page.
 */
export function relayResponse(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void {
  const status = proxyRes.statusCode ?? 502;
  const context = contextOf(req);
  const type = proxyRes.headers["content-type"] ?? "";
  if (status >= 500 && isApiPath(context.path) && !type.includes("json")) {
    proxyRes.resume();
    context.errorCode = "UPSTREAM_ERROR";
    context.mlflowErrorCode = "INTERNAL_ERROR";
    const error = new GatewayError(
      "UPSTREAM_ERROR",
      `MLflow failed to handle this request (status ${status}). Its log (in the gateway's log, request ${context.requestId}) has the details.`,
    );
    sendError(req, res, error, { requestId: context.requestId, path: context.path });
    return;
  }
  res.statusCode = status;
  if (proxyRes.statusMessage) res.statusMessage = proxyRes.statusMessage;
  // The child's headers win over the gateway's defaults; repeated ones (Set-Cookie) keep every value.
  const headers = new Map<string, { name: string; values: string[] }>();
  for (let i = 0; i < proxyRes.rawHeaders.length; i += 2) {
    const name = proxyRes.rawHeaders[i] ?? "";
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key)) continue;
    const entry = headers.get(key) ?? { name, values: [] };
    entry.values.push(proxyRes.rawHeaders[i + 1] ?? "");
    headers.set(key, entry);
  }
  for (const { name, values } of headers.values()) res.setHeader(name, values.length === 1 ? (values[0] ?? "") : values);
  // Cut the client off if the child's answer breaks midway, instead of a silent truncation.
  proxyRes.on("error", () => res.destroy());
  proxyRes.on("aborted", () => res.destroy());
  // A client that leaves mid-answer: stop reading the child's answer (its socket is dropped, not pooled).
  res.once("close", () => {
    if (!res.writableEnded) proxyRes.destroy();
  });
  const rewrite = context.rewriteAnswer;
  if (rewrite !== undefined && status === 200 && type.includes("json") && proxyRes.headers["content-encoding"] === undefined) {
    relayRewritten(proxyRes, res, rewrite);
    return;
  }
  if (context.rewriteRequired && status === 200) {
    // A filter that cannot be applied (an encoded or non-JSON answer) must not pass the answer unfiltered.
    refuseUnfilterable(proxyRes, req, res, "an answer the gateway could not read to filter");
    return;
  }
  observeResponseBody(proxyRes, context);
  if (status >= 400 && proxyRes.headers["content-encoding"] === undefined) {
    relayRedacted(proxyRes, res);
    return;
  }
  proxyRes.pipe(res);
}

/** Error answers are small; one larger than this is not relayed (it cannot be checked for credentials). */
export const MAX_ERROR_ANSWER_BYTES = 1024 * 1024;

/**
 * An error answer read whole and relayed with any credential it quotes masked: MLflow puts
 * the message of a failing Databricks call in its error, and a service that echoes the
 * request would put the service principal's token there (log/create-logger.ts).
 */
function relayRedacted(proxyRes: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  proxyRes.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_ERROR_ANSWER_BYTES) chunks.push(chunk);
  });
  proxyRes.once("end", () => {
    if (size > MAX_ERROR_ANSWER_BYTES) {
      refuse(
        proxyRes,
        res.req,
        res,
        `an error answer larger than ${MAX_ERROR_ANSWER_BYTES} bytes`,
        "the gateway relays error answers only when it can check them for credentials.",
      );
      return;
    }
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = Buffer.from(redactSecrets(raw), "utf8");
    contextOf(res.req).bytesOut = body.length;
    res.setHeader("content-length", String(body.length));
    res.end(body);
  });
}

/** Answers this large are relayed as they are: rewriting them would hold too much in memory. */
export const MAX_REWRITTEN_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * A JSON answer read whole, rewritten (artifact locations as clients see them) and sent
 * with its new length. Only the few operations that carry locations take this path.
 */
function relayRewritten(proxyRes: IncomingMessage, res: ServerResponse, rewrite: (body: unknown) => unknown): void {
  const context = contextOf(res.req);
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  proxyRes.on("data", (chunk: Buffer) => {
    if (overflow) return;
    size += chunk.length;
    if (size > MAX_REWRITTEN_ANSWER_BYTES && context.rewriteRequired) {
      overflow = true;
      refuseUnfilterable(proxyRes, res.req, res, `an answer larger than ${MAX_REWRITTEN_ANSWER_BYTES} bytes`);
      return;
    }
    if (size > MAX_REWRITTEN_ANSWER_BYTES) {
      // Too large to rewrite: send what came so far and stream the rest untouched.
      overflow = true;
      res.removeHeader("content-length");
      for (const held of chunks) res.write(held);
      res.write(chunk);
      context.bytesOut = size;
      proxyRes.on("data", (more: Buffer) => {
        context.bytesOut += more.length;
        res.write(more);
      });
      return;
    }
    chunks.push(chunk);
  });
  proxyRes.once("end", () => {
    if (overflow) {
      if (!res.writableEnded && !res.destroyed && !context.rewriteRequired) res.end();
      return;
    }
    const raw = Buffer.concat(chunks);
    let body = raw;
    try {
      const rewritten = rewrite(JSON.parse(raw.toString("utf8")));
      if (rewritten !== undefined) body = Buffer.from(JSON.stringify(rewritten));
    } catch {
      // Not JSON after all: relay the child's bytes, unless the rewrite is a filter.
      if (context.rewriteRequired) {
        refuseUnfilterable(proxyRes, res.req, res, "an answer that is not JSON");
        return;
      }
    }
    context.bytesOut = body.length;
    res.setHeader("content-length", String(body.length));
    res.end(body);
  });
}

/** The child's answer needed a filter the gateway could not apply: refused, never relayed as is. */
function refuseUnfilterable(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse, what: string): void {
  refuse(
    proxyRes,
    req,
    res,
    what,
    "the gateway must filter this answer to what you may read, so it was not passed on. Narrow the request (fewer runs or results per page).",
  );
}

function refuse(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse, what: string, why: string): void {
  const context = contextOf(req);
  proxyRes.resume();
  context.errorCode = "UPSTREAM_ERROR";
  // The child's headers describe a body that is not sent (the gateway's own hardening headers stay).
  for (const name of ["content-length", "content-encoding", "content-type", "etag", "last-modified", "content-disposition"]) res.removeHeader(name);
  const error = new GatewayError("UPSTREAM_ERROR", `MLflow sent ${what}; ${why}`);
  sendError(req, res, error, { requestId: context.requestId, path: context.path });
}
