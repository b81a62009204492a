// Databricks REST error bodies. Every workspace API answers errors as
// {"error_code": "...", "message": "..."}; MLflow's rest_utils and the
// Databricks SDK both parse exactly these two fields, so the emulator must
// never answer an /api error in any other shape.

import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";

/**
 * A refusal in Databricks' terms ({error_code, message}, plus google.rpc details for the
 * answers whose callers branch on an ErrorInfo reason). Every service of the emulator
 * throws these; `refusing` and the last-resort handler answer them.
 */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly details?: Record<string, unknown>[],
  ) {
    super(message);
  }
}

export function sendDatabricksError(res: Response, status: number, errorCode: string, message: string): void {
  // A client that hung up (e.g. half-way through an upload) has no one to read the answer.
  if (res.destroyed) return;
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

/** Answers a Refusal in Databricks' shape (HEAD: status only); false for anything else. */
export function sendRefusal(res: Response, err: unknown): boolean {
  if (!(err instanceof Refusal)) return false;
  if (res.destroyed) return true;
  if (res.req.method === "HEAD") res.status(err.status).end();
  else if (err.details && !res.headersSent) res.status(err.status).json({ error_code: err.errorCode, message: err.message, details: err.details });
  else sendDatabricksError(res, err.status, err.errorCode, err.message);
  return true;
}

/** Wraps an async handler: refusals become error answers, anything else goes to the error handler. */
export function refusing(fn: (req: Request, res: Response) => Promise<void> | void): RequestHandler {
  return (req, res, next) => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch((err: unknown) => {
        if (!sendRefusal(res, err)) next(err);
      });
  };
}

/** Like `refusing`, for a handler whose result is the JSON answer. */
export function answeringJson(fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return refusing(async (req, res) => {
    res.json(await fn(req, res));
  });
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
