import type { Identity } from "../identity/identity.js";
import type { MlflowService } from "../routes/classify-operation.js";
import {
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditObjects,
  type AuditOutcome,
  auditString,
  newEventId,
  optionalAuditString,
} from "./audit-event.js";
import { extractObjects } from "./audit-objects.js";

/** What the HTTP layer knows about one finished call, in plain terms. */
export interface AuditedCall {
  requestId: string;
  /** When the call arrived. */
  startedAt: Date;
  method: string;
  /** Decoded path, without the query. */
  path: string;
  query: URLSearchParams;
  identity: Identity | undefined;
  sourceIp: string | undefined;
  userAgent: string | undefined;
  /** The MLflow operation, from the installed MLflow's route table; undefined when no route matched. */
  operation: { name: string; service: MlflowService | "gateway"; params: Record<string, string> } | undefined;
  status: number;
  abandoned: boolean;
  mlflowErrorCode: string | undefined;
  gatewayError: string | undefined;
  /** The rule that judged the call, when one did. */
  decision: { allow: boolean; rule: string; grant?: string | undefined; need?: string | undefined } | undefined;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  /** The JSON body, when it was small enough to copy; only identifiers are taken from it. */
  body: unknown;
  /** Objects the gateway established itself (the run behind an artifact path); they win over the request's fields. */
  objects?: AuditObjects | undefined;
}

/** Refusals decided before the policy stage, named by the stage that refused. */
const REFUSED_BY: Record<string, string> = {
  UNAUTHENTICATED: "identity",
  IDENTITY_UNAVAILABLE: "identity",
  ROUTE_NOT_FOUND: "route",
  METHOD_NOT_ALLOWED: "route",
  ROUTE_FORBIDDEN: "route",
  CROSS_SITE_REQUEST: "cross-site",
  HEADER_REJECTED: "request-guard",
  PATH_REJECTED: "request-guard",
  SHUTTING_DOWN: "shutting-down",
};

export function describeCall(call: AuditedCall): AuditEvent {
  const body = isRecord(call.body) ? call.body : undefined;
  const extracted = extractObjects({
    operation: call.operation?.name,
    method: call.method,
    pathParams: call.operation?.params,
    query: call.query,
    body,
  });
  const { writtenKeys } = extracted;
  const objects: AuditObjects = { ...extracted.objects };
  for (const [field, value] of Object.entries(call.objects ?? {})) {
    if (typeof value === "string") objects[field as keyof AuditObjects] = auditString(value);
  }
  const event: AuditEvent = {
    schema_version: AUDIT_SCHEMA_VERSION,
    event_id: newEventId(),
    event_time: call.startedAt.toISOString(),
    request_id: auditString(call.requestId, 128),
    principal: {
      subject: optionalAuditString(call.identity?.subject),
      email: optionalAuditString(call.identity?.email),
      user_name: optionalAuditString(call.identity?.userName),
      verified_by: call.identity?.verifiedBy ?? null,
    },
    source_ip: optionalAuditString(call.sourceIp),
    user_agent: optionalAuditString(call.userAgent),
    service: call.operation?.service ?? "unknown",
    action: call.operation?.name ?? "Unknown",
    method: auditString(call.method, 16),
    path: auditString(call.path),
    objects,
    outcome: outcomeOf(call),
    duration_ms: Math.round(call.durationMs * 1000) / 1000,
    bytes_in: call.bytesIn,
    bytes_out: call.bytesOut,
  };
  if (writtenKeys.length > 0) event.written_keys = writtenKeys.slice(0, 1000);
  return event;
}

function outcomeOf(call: AuditedCall): AuditOutcome {
  let decision: AuditOutcome["decision"] = "undecided";
  let decidedBy = "none";
  if (call.decision !== undefined) {
    decision = call.decision.allow ? "allow" : "deny";
    decidedBy = call.decision.rule;
  } else if (call.gatewayError !== undefined && REFUSED_BY[call.gatewayError] !== undefined) {
    decision = "deny";
    decidedBy = REFUSED_BY[call.gatewayError] ?? "none";
  }
  const outcome: AuditOutcome = {
    status: call.status,
    error_code: optionalAuditString(call.mlflowErrorCode),
    decision,
    decided_by: decidedBy,
    gateway_error: optionalAuditString(call.gatewayError),
    abandoned: call.abandoned,
  };
  if (call.decision?.grant !== undefined) outcome.grant = auditString(call.decision.grant, 256);
  if (call.decision?.need !== undefined) outcome.permission = auditString(call.decision.need, 16);
  return outcome;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
