import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayError } from "../errors.js";
import { isApiPath } from "./api-paths.js";

export interface ErrorResponseOptions {
  requestId: string;
  path: string;
  /** Extra response headers (Allow, WWW-Authenticate, ...). */
  headers?: Record<string, string>;
}

/**
 * The one place a gateway error becomes an HTTP answer: MLflow's JSON error shape for
 * programs, a short readable page for a browser. Messages are the error's own
 * (written for users); causes and stacks are never sent.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, error: GatewayError, options: ErrorResponseOptions): void {
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client sees a failure, not a truncated success.
    res.destroy(error);
    return;
  }
  res.statusCode = error.status;
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("X-Content-Type-Options", "nosniff");
  if (error.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(error.retryAfterSeconds));
  for (const [name, value] of Object.entries({ ...error.headers, ...options.headers })) res.setHeader(name, value);

  if (wantsPage(req, options.path)) {
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    endWith(res, renderPage(error, options.requestId));
    return;
  }
  res.setHeader("Content-Type", "application/json");
  endWith(
    res,
    JSON.stringify({
      error_code: error.mlflowCode,
      message: error.message,
      gateway_error: error.code,
      request_id: options.requestId,
    }),
  );
}

/** An explicit length (which the audit trail reads as bytes out). */
function endWith(res: ServerResponse, body: string): void {
  const bytes = Buffer.from(body, "utf8");
  res.setHeader("Content-Length", String(bytes.length));
  res.end(bytes);
}

function wantsPage(req: IncomingMessage, path: string): boolean {
  if (isApiPath(path)) return false;
  return (req.headers.accept ?? "").includes("text/html");
}

const TITLES: Partial<Record<GatewayError["code"], string>> = {
  CHILD_NOT_READY: "MLflow is starting",
  UPSTREAM_UNAVAILABLE: "MLflow is restarting",
  SHUTTING_DOWN: "MLflow is restarting",
  UPSTREAM_TIMEOUT: "MLflow took too long to answer",
  ROUTE_NOT_FOUND: "Page not found",
};

function renderPage(error: GatewayError, requestId: string): string {
  const title = TITLES[error.code] ?? "Request refused";
  // A page that is only waiting for MLflow reloads itself, so a person never has to.
  const refresh = error.retryAfterSeconds !== undefined ? `<meta http-equiv="refresh" content="${error.retryAfterSeconds}">` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2328}small{color:#59636e}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(error.message)}</p>
<p><small>Status ${error.status} · request ${escapeHtml(requestId)}</small></p></body></html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
