// Databricks REST error bodies. Every workspace API answers errors as
// {"error_code": "...", "message": "..."}; MLflow's rest_utils and the
// Databricks SDK both parse exactly these two fields, so the emulator must
// never answer an /api error in any other shape.

import type { ErrorRequestHandler, Response } from "express";

export function sendDatabricksError(res: Response, status: number, errorCode: string, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json({ error_code: errorCode, message });
}

/** Databricks' answer for a path no service handles. */
export function sendEndpointNotFound(res: Response, method: string, path: string): void {
  // Databricks strips the /api/<version> prefix in this message.
  const shortPath = path.replace(/^\/api\/[0-9.]+/, "");
  sendDatabricksError(res, 404, "ENDPOINT_NOT_FOUND", `No API found for '${method} ${shortPath}'`);
}

/** Last-resort handler so a bug in the emulator still answers in Databricks' shape. */
export const databricksErrorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const status =
    typeof err === "object" && err !== null && typeof (err as { status?: unknown }).status === "number" ? (err as { status: number }).status : 500;
  const message = err instanceof Error ? err.message : String(err);
  if (status === 400) {
    // body-parser errors (malformed JSON) end up here.
    sendDatabricksError(res, 400, "MALFORMED_REQUEST", `Could not parse request object: ${message}`);
    return;
  }
  sendDatabricksError(res, status, status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST", message);
};
