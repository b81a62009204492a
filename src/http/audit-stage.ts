import type { IncomingMessage as Request, ServerResponse as Response } from "node:http";
import type { AuditTrail } from "../audit/audit-trail.js";
import { type AuditedCall, describeCall } from "../audit/describe-call.js";
import type { Logger } from "../log/create-logger.js";
import { serviceOf } from "../routes/classify-operation.js";
import type { RouteTable } from "../routes/route-table.js";
import { isApiPath } from "../request/api-paths.js";
import { ADMIN_PREFIX } from "./admin-pages.js";
import { GATEWAY_PREFIX } from "./gateway-endpoints.js";
import type { Next as NextFunction } from "./pipeline.js";
import { contextOf, elapsedMs, type RequestContext } from "../request/request-context.js";

export interface AuditStageDependencies {
  audit: AuditTrail;
  routes: RouteTable;
  logger: Logger;
}

/**
 * Registers, for every request, one audit event written when the response closes, however
 * it ends: answered by MLflow, refused by any stage (401 before the route is even known),
 * failed upstream, or abandoned by the client. Static UI files, health probes and the
 * gateway's own endpoints are not MLflow calls and are left to the access log.
 */
export function auditScope(deps: AuditStageDependencies) {
  return function auditScope(req: Request, res: Response, next: NextFunction): void {
    res.once("close", () => {
      try {
        const context = contextOf(req);
        const operation = auditedOperation(deps.routes, req.method ?? "GET", context);
        if (operation === undefined) return;
        deps.audit.record(describeCall(callFacts(req, res, context, operation)));
      } catch (error) {
        // Never let a malformed request take the process down from a close handler.
        deps.logger.error("could not build the audit event of a request", { error: String(error) });
      }
    });
    next();
  };
}

/** With the failure policy in force, a call that could not be audited is refused before it runs. */
export function auditGate(deps: { audit: AuditTrail }) {
  return function auditGate(req: Request, _res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const operationClass = context.route?.operationClass;
    if (operationClass === undefined || operationClass === "ui" || operationClass === "health") return next();
    const refusal = deps.audit.refusal(operationClass);
    if (refusal === undefined) return next();
    context.decision = { allow: false, rule: "audit-unavailable" };
    next(refusal);
  };
}

type Operation = NonNullable<AuditedCall["operation"]>;

/** The MLflow operation of an audited call, or undefined when the request is not one. */
function auditedOperation(routes: RouteTable, method: string, context: RequestContext): Operation | { none: true } | undefined {
  if (context.path.startsWith(ADMIN_PREFIX)) return { name: "ViewAuditEvents", service: "gateway", params: {} };
  if (context.path.startsWith(GATEWAY_PREFIX)) return undefined;
  // Refused before classification (identity comes first): look the route up for its name.
  const match = context.route ?? routes.match(method, context.path);
  if (match?.kind === "route") {
    if (match.operationClass === "ui" || match.operationClass === "health") return undefined;
    return { name: match.route.operation, service: match.service, params: match.params };
  }
  return isApiPath(context.path) ? { none: true } : undefined;
}

function callFacts(req: Request, res: Response, context: RequestContext, operation: Operation | { none: true }): AuditedCall {
  const finished = res.writableFinished;
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  return {
    requestId: context.requestId,
    startedAt: new Date(context.receivedAt),
    method: req.method ?? "GET",
    path: context.path,
    query: new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1)),
    identity: context.identity,
    sourceIp: context.clientIp,
    userAgent: context.userAgent,
    operation: "none" in operation ? { name: "Unknown", service: serviceOf(context.path), params: {} } : operation,
    status: res.headersSent ? res.statusCode : 499,
    abandoned: !finished,
    mlflowErrorCode: context.mlflowErrorCode,
    gatewayError: context.errorCode === "CLIENT_ABORTED" ? undefined : context.errorCode,
    decision: context.decision,
    durationMs: elapsedMs(context),
    bytesIn: context.bytesIn,
    bytesOut: context.bytesOut > 0 ? context.bytesOut : Number(res.getHeader("content-length") ?? 0) || 0,
    body: context.parsedBody ?? parseSample(context.bodySample, req.complete),
    objects: context.auditObjects,
  };
}

function parseSample(sample: Buffer[] | undefined, complete: boolean): unknown {
  if (sample === undefined || !complete || sample.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(sample).toString("utf8"));
  } catch {
    return undefined;
  }
}
