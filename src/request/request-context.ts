import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { readJsonBody } from "../attribution/read-json-body.js";
import type { AuditObjects } from "../audit/audit-event.js";
import type { Identity } from "../identity/identity.js";
import type { Authorization } from "../policy/authorizer.js";
import type { RouteMatch } from "../routes/route-table.js";

/**
 * Everything the pipeline learns about one request, set by the first stage and read by
 * the later ones (identity, policy and audit will add their fields here), instead of
 * ad-hoc properties on Express' `req`.
 */
export interface RequestContext {
  requestId: string;
  /** process.hrtime.bigint() when the request arrived. */
  startedAt: bigint;
  /** Wall-clock time (epoch ms) when the request arrived, for the audit trail. */
  receivedAt: number;
  /** Percent-decoded path, the one MLflow's router will see. */
  path: string;
  /** The caller, once the identity stage has proved who it is. */
  identity: Identity | undefined;
  /** The client's address as the front door saw it (X-Real-Ip), else the socket's. */
  clientIp: string | undefined;
  /** The host the browser addressed, as the front door saw it (X-Forwarded-Host), read before identity headers are stripped. */
  forwardedHost: string | undefined;
  userAgent: string | undefined;
  /** The MLflow route, once classified. */
  route: RouteMatch | undefined;
  /** Label for metrics and the access log: an operation class, or what answered instead. */
  metricClass: string;
  /** A body the gateway rewrote (attribution); the proxy sends it instead of the original stream. */
  replacementBody: Buffer | undefined;
  /** Set when the gateway answered itself with an error code (for logs and metrics). */
  errorCode: string | undefined;
  /** MLflow's error_code of an error answer (the gateway's, or read from the child's answer). */
  mlflowErrorCode: string | undefined;
  /** The policy's verdict (rule, matching grant, permission needed), or the refusal of a later gate (audit unavailable). */
  decision: Decision | undefined;
  /** The policy's whole answer: the caller's groups, and whether a search must be filtered. */
  authorization: Authorization | undefined;
  /** Request body bytes received (counted as they stream through, never buffered for it). */
  bytesIn: number;
  /** Response body bytes relayed from the child. */
  bytesOut: number;
  /** A copy of a small JSON request body as it streamed past, for the audit trail's object ids. */
  bodySample: Buffer[] | undefined;
  /** A JSON body the gateway had to read whole anyway (attribution), already parsed. */
  parsedBody: unknown;
  /** X-Forwarded-Proto as the front door sent it, read before identity headers are stripped. */
  forwardedProto: string | undefined;
  /**
   * The caller's verified token, kept only to hand back to the same caller in the part
   * URLs of its own chunked transfers (the front door needs it on each part). Never logged.
   */
  callerToken: string | undefined;
  /** Objects the gateway itself established for the audit trail (artifact calls); they win over the request's own fields. */
  auditObjects: AuditObjects | undefined;
  /** Rewrites the child's JSON answer (artifact locations as clients see them); undefined: relayed as is. */
  rewriteAnswer: ((body: unknown) => unknown) | undefined;
  /** The rewrite filters what the caller may see: an answer it cannot be applied to is not relayed. */
  rewriteRequired: boolean;
}

/** What decided a call, as the audit trail records it. */
export interface Decision {
  allow: boolean;
  rule: string;
  /** The grant (or protected-alias rule) that matched, when one did. */
  grant?: string | undefined;
  /** The permission the call needed. */
  need?: string | undefined;
}

const contexts = new WeakMap<IncomingMessage, RequestContext>();

/** A forwarded X-Request-Id is kept only if it looks like an id, not like an injection. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createRequestContext(req: IncomingMessage, path: string): RequestContext {
  const forwarded = req.headers["x-request-id"];
  const requestId = typeof forwarded === "string" && ACCEPTABLE_REQUEST_ID.test(forwarded) ? forwarded : randomUUID();
  const context: RequestContext = {
    requestId,
    startedAt: process.hrtime.bigint(),
    receivedAt: Date.now(),
    path,
    identity: undefined,
    clientIp: firstHeader(req.headers["x-real-ip"]) ?? req.socket.remoteAddress,
    forwardedHost: firstHeader(req.headers["x-forwarded-host"]),
    userAgent: firstHeader(req.headers["user-agent"]),
    route: undefined,
    metricClass: "unmatched",
    errorCode: undefined,
    replacementBody: undefined,
    mlflowErrorCode: undefined,
    decision: undefined,
    authorization: undefined,
    bytesIn: 0,
    bytesOut: 0,
    bodySample: undefined,
    parsedBody: undefined,
    forwardedProto: firstHeader(req.headers["x-forwarded-proto"]),
    callerToken: undefined,
    auditObjects: undefined,
    rewriteAnswer: undefined,
    rewriteRequired: false,
  };
  contexts.set(req, context);
  return context;
}

/** The context of a request that went through the request-scope stage. */
export function contextOf(req: IncomingMessage): RequestContext {
  const context = contexts.get(req);
  if (context === undefined) throw new Error("request has no context: the request-scope stage must run first");
  return context;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === "" ? undefined : first.slice(0, 256);
}

/**
 * The request's JSON body for a stage that may rewrite it: read (and kept, to be forwarded
 * as received) by the first stage that asks, the same parse for every later one.
 */
export async function jsonBodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const context = contextOf(req);
  if (context.parsedBody !== undefined) return context.parsedBody as Record<string, unknown>;
  const read = await readJsonBody(req);
  context.bytesIn = read.raw.length;
  context.replacementBody = read.raw;
  context.parsedBody = read.parsed;
  return read.parsed;
}

/** Forwards `body` instead of what the client sent (the audit trail reads it too). */
export function replaceJsonBody(req: IncomingMessage, body: Record<string, unknown>): void {
  const context = contextOf(req);
  context.parsedBody = body;
  context.replacementBody = Buffer.from(JSON.stringify(body));
}

/** Adds a rewrite of the child's JSON answer, after any a previous stage added. */
export function addAnswerRewrite(context: RequestContext, rewrite: (body: unknown) => unknown): void {
  const previous = context.rewriteAnswer;
  context.rewriteAnswer =
    previous === undefined
      ? rewrite
      : (body) => {
          const first = previous(body) ?? body;
          return rewrite(first) ?? first;
        };
}

export function elapsedMs(context: RequestContext): number {
  return Number(process.hrtime.bigint() - context.startedAt) / 1e6;
}
