import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { createProxyMiddleware, proxyEventsPlugin, type RequestHandler } from "http-proxy-middleware";
import { GatewayError } from "../errors.js";
import { observeRequestBody } from "../request/body-observer.js";
import { contextOf } from "../request/request-context.js";
import { sendError } from "../request/send-error.js";
import type { Logger } from "../log/create-logger.js";
import { CHILD_KEEP_ALIVE_SECONDS } from "../supervisor/child-command.js";
import { relayResponse } from "./relay-response.js";

/** Pooled sockets idle longer than this are closed by us, well before the child closes them. */
export const POOL_IDLE_TIMEOUT_MS = Math.min(30_000, (CHILD_KEEP_ALIVE_SECONDS * 1000) / 2);
/** Concurrent connections to the child; beyond this requests queue in the agent. */
export const POOL_MAX_SOCKETS = 256;
/** A 503 caused by the child being away asks clients to retry after this long. */
export const RETRY_AFTER_SECONDS = 2;

export interface ProxyOptions {
  /** Told about every upstream 429 or 5xx (the Databricks backend check listens). */
  onServerError?: () => void;
  target: string;
  /** Idle time on the upstream socket (no bytes either way) that makes a 504. */
  upstreamTimeoutMs: number;
  logger: Logger;
}

export interface MlflowProxy {
  handler: RequestHandler<IncomingMessage, ServerResponse>;
  agent: Agent;
}

const timedOut = new WeakSet<IncomingMessage>();

/**
 * Streams requests and responses between client and child without buffering (no body
 * parser runs before this), over a keep-alive pool.
 */
export function createMlflowProxy(options: ProxyOptions): MlflowProxy {
  const agent = new Agent({ keepAlive: true, maxSockets: POOL_MAX_SOCKETS, maxFreeSockets: 64, timeout: POOL_IDLE_TIMEOUT_MS, scheduling: "lifo" });
  const handler = createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: options.target,
    agent,
    // MLflow's host validation accepts only its own address (see child-command.ts).
    changeOrigin: true,
    xfwd: false,
    // Responses are relayed by relay-response.ts (streaming, with HTML 5xx made MLflow-shaped).
    selfHandleResponse: true,
    // Only the plugin that attaches `on` below. The default ones log (to a silent logger,
    // at a cost on every response) and answer errors a second time after onProxyError has;
    // their one useful fix (stop reading an answer the client abandoned) is in relay-response.ts.
    ejectPlugins: true,
    plugins: [proxyEventsPlugin],
    on: {
      proxyReq(proxyReq: ClientRequest, req: IncomingMessage) {
        const context = contextOf(req);
        // The cross-site guard has judged Origin already; MLflow's CORS guard would see
        // the public origin as foreign and refuse every write from the UI.
        proxyReq.removeHeader("origin");
        proxyReq.setHeader("x-request-id", context.requestId);
        if (context.replacementBody !== undefined) {
          // The original stream was read by the gateway; send the rewritten bytes. The
          // already-ended request stream then ends this upstream request.
          proxyReq.removeHeader("transfer-encoding");
          proxyReq.setHeader("content-type", "application/json");
          proxyReq.setHeader("content-length", String(context.replacementBody.length));
          proxyReq.write(context.replacementBody);
        } else {
          observeRequestBody(req, context);
        }
        proxyReq.setTimeout(options.upstreamTimeoutMs, () => {
          timedOut.add(req);
          proxyReq.destroy(new Error(`upstream idle for ${options.upstreamTimeoutMs} ms`));
        });
      },
      proxyRes(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) {
        const status = proxyRes.statusCode ?? 0;
        if (status >= 500 || status === 429) options.onServerError?.();
        relayResponse(proxyRes, req, res);
      },
      error(error: Error, req: IncomingMessage, res: ServerResponse | Socket) {
        onProxyError(error, req, res, options);
      },
    },
  });
  return { handler, agent };
}

function onProxyError(error: Error, req: IncomingMessage, res: ServerResponse | Socket, options: ProxyOptions): void {
  if (!("setHeader" in res)) {
    res.destroy();
    return;
  }
  const context = contextOf(req);
  const clientGone = req.destroyed || res.destroyed;
  if (clientGone && !timedOut.has(req)) {
    // The client abandoned the request; http-proxy aborted the upstream call for us.
    context.errorCode ??= "CLIENT_ABORTED";
    return;
  }
  const gatewayError = timedOut.has(req)
    ? new GatewayError("UPSTREAM_TIMEOUT", `MLflow did not answer within ${options.upstreamTimeoutMs} ms.`)
    : new GatewayError("UPSTREAM_UNAVAILABLE", "MLflow is not reachable right now (it may be restarting). Retry shortly.", {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
  context.errorCode = gatewayError.code;
  context.mlflowErrorCode = gatewayError.mlflowCode;
  options.logger.warn("proxy to mlflow failed", {
    requestId: context.requestId,
    code: gatewayError.code,
    cause: (error as NodeJS.ErrnoException).code ?? error.message,
    afterHeaders: res.headersSent,
  });
  sendError(req, res, gatewayError, { requestId: context.requestId, path: context.path });
}
