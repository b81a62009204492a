import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../errors.js";
import { isApiPath } from "../http/api-paths.js";
import { observeResponseBody } from "../http/body-observer.js";
import { contextOf } from "../http/request-context.js";
import { sendError } from "../http/send-error.js";

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
  observeResponseBody(proxyRes, context);
  proxyRes.pipe(res);
}
