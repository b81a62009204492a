import type { IncomingMessage as Request, ServerResponse as Response } from "node:http";
import { GatewayError } from "../errors.js";
import type { Logger } from "../log/create-logger.js";
import { ADMIN_PREFIX } from "./admin-pages.js";
import { type BodyLimits, type BodyViolation, type BodyWatch } from "./body-watch.js";
import { type Capacity, OVERLOAD_RETRY_AFTER_SECONDS } from "./capacity.js";
import { GATEWAY_PREFIX } from "./gateway-endpoints.js";
import type { Next } from "./pipeline.js";
import { contextOf } from "../request/request-context.js";
import { sendError } from "../request/send-error.js";

/**
 * What one hostile client may make the gateway hold: connections, calls in flight, headers
 * and bodies. Each refusal is a plain HTTP answer naming the limit (503 with Retry-After,
 * 413, 408, 431), never a hang or a reset the client cannot explain.
 */

/** Header lines per request. Node's own cap (2000) ignores the lines past it silently. */
export const MAX_HEADER_COUNT = 100;
/** An API body (JSON, protobuf, form; small) that sends no byte for this long is cut: as long as the headers may take (serve.ts). */
export const API_BODY_IDLE_MS = 10_000;
/** An API body must arrive whole within this long. */
export const API_BODY_TOTAL_MS = 30_000;
/** A file body (artifact upload) may take as long as it needs but may not stall longer than this (as the Files API transfers). */
export const FILE_BODY_IDLE_MS = 60_000;

/**
 * The operations whose bodies are files and may be large: artifact uploads (whole, and the
 * gateway's parts of a chunked one), and OTLP span exports (/v1/traces), which carry whole
 * LLM inputs and outputs. Every other body is a JSON (or small form) document.
 */
export const FILE_BODY_OPERATIONS: ReadonlySet<string> = new Set(["UploadArtifact", "ServeUploadArtifact", "UploadArtifactPart", "ExportTraces"]);

/**
 * Before anything else reads the request: a connection accepted over the cap gets its 503
 * and is closed. The gateway's probes (/-/live, /-/ready) still answer, so an overloaded
 * gateway is not mistaken for a dead one and restarted.
 */
export function connectionGate(capacity: Capacity) {
  return function connectionGate(req: Request, res: Response, next: Next): void {
    if (!capacity.isOverflow(req.socket) || isProbe(contextOf(req).path)) return next();
    res.setHeader("Connection", "close");
    next(
      new GatewayError("OVERLOADED", `The gateway has its maximum of ${capacity.maxConnections} connections open; retry in a moment.`, {
        retryAfterSeconds: OVERLOAD_RETRY_AFTER_SECONDS,
      }),
    );
  };
}

function isProbe(path: string): boolean {
  return path.startsWith(GATEWAY_PREFIX) && !path.startsWith(ADMIN_PREFIX);
}

export function headerLimits() {
  return function headerLimits(req: Request, res: Response, next: Next): void {
    const count = req.rawHeaders.length / 2;
    if (count <= MAX_HEADER_COUNT) return next();
    res.setHeader("Connection", "close");
    next(new GatewayError("HEADERS_TOO_LARGE", `The request has ${count} header lines; at most ${MAX_HEADER_COUNT} are accepted.`));
  };
}

/** After identity: one person (one address in local mode) has at most so many calls in flight. */
export function clientConcurrency(capacity: Capacity) {
  return function clientConcurrency(req: Request, res: Response, next: Next): void {
    const identity = contextOf(req).identity;
    if (identity === undefined) return next();
    const client = identity.verifiedBy === "local" ? `address:${req.socket.remoteAddress ?? "unknown"}` : `subject:${identity.subject}`;
    if (!capacity.acquire(client)) {
      next(
        new GatewayError("OVERLOADED", `You have ${capacity.maxRequestsPerClient} calls in progress already; retry when one of them has finished.`, {
          retryAfterSeconds: OVERLOAD_RETRY_AFTER_SECONDS,
        }),
      );
      return;
    }
    res.once("close", () => capacity.release(client));
    next();
  };
}

/**
 * After route classification (file bodies may be large and slow, API bodies may not): a
 * declared length over the cap is refused before a byte is read; a body that grows past
 * it, stalls, or takes too long is cut while it arrives.
 */
export function bodyLimits(options: { watch: BodyWatch; maxApiBodyBytes: number; logger: Logger }) {
  const apiLimits: BodyLimits = { idleMs: API_BODY_IDLE_MS, totalMs: API_BODY_TOTAL_MS, maxBytes: options.maxApiBodyBytes };
  const fileLimits: BodyLimits = { idleMs: FILE_BODY_IDLE_MS, totalMs: undefined, maxBytes: undefined };
  return function bodyLimits(req: Request, res: Response, next: Next): void {
    if (!hasBody(req)) return next();
    const context = contextOf(req);
    const isFile = FILE_BODY_OPERATIONS.has(context.route?.route.operation ?? "");
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (!isFile && declared > options.maxApiBodyBytes) {
      res.setHeader("Connection", "close");
      next(tooLarge(options.maxApiBodyBytes));
      return;
    }
    options.watch.watch(req, isFile ? fileLimits : apiLimits, (violation) => {
      const error = violation === "too-large" ? tooLarge(options.maxApiBodyBytes) : slowBody(violation, isFile ? fileLimits : apiLimits);
      context.errorCode = error.code;
      context.mlflowErrorCode = error.mlflowCode;
      options.logger.warn("request body cut", { requestId: context.requestId, violation, bytesIn: context.bytesIn });
      cut(req, res, error, context.requestId, context.path);
    });
    next();
  };
}

function hasBody(req: Request): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  return length !== undefined && length !== "0";
}

function tooLarge(max: number): GatewayError {
  return new GatewayError(
    "BODY_TOO_LARGE",
    `The request body is larger than ${Math.round(max / (1024 * 1024))} MB, the limit for MLflow API calls (files go through the artifact routes).`,
  );
}

function slowBody(violation: Exclude<BodyViolation, "too-large">, limits: BodyLimits): GatewayError {
  return new GatewayError(
    "BODY_TIMEOUT",
    violation === "idle"
      ? `The request body stopped arriving for ${limits.idleMs / 1000} s; the call was cut.`
      : `The request body did not arrive within ${(limits.totalMs ?? 0) / 1000} s; the call was cut.`,
  );
}

/**
 * Answers the error when nothing has been answered yet, then closes the connection: the
 * rest of the body is never read, and whatever was forwarded of it is abandoned (the
 * proxy aborts its upstream call when the client's connection closes).
 */
function cut(req: Request, res: Response, error: GatewayError, requestId: string, path: string): void {
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  res.setHeader("Connection", "close");
  res.once("finish", () => req.socket.destroy());
  sendError(req, res, error, { requestId, path });
}
