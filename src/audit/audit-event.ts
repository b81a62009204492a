import { randomUUID } from "node:crypto";
import type { VerifiedBy } from "../identity/identity.js";
import type { MlflowService } from "../routes/classify-operation.js";

/**
 * One audit event per MLflow API call, modelled on Databricks' system.access.audit
 * (event_time, request_id, user_identity, service_name, action_name, request_params,
 * response). Versioned: readers branch on `schema_version`.
 */
export const AUDIT_SCHEMA_VERSION = "1";

/** Every string in an event is cut to this length. */
export const MAX_AUDIT_STRING = 512;

export interface AuditPrincipal {
  subject: string | null;
  email: string | null;
  user_name: string | null;
  /** How the gateway established it: token, headers, local; null when it could not. */
  verified_by: VerifiedBy | null;
}

/** The MLflow objects a call touched, as named in its query or body. */
export interface AuditObjects {
  experiment_id?: string;
  /** Only where the call names the experiment by name (created, renamed, looked up by name). */
  experiment_name?: string;
  run_id?: string;
  /** A registered model's name: only in the model registry's calls, never another object's `name`. */
  model_name?: string;
  version?: string;
  alias?: string;
  artifact_path?: string;
  logged_model_id?: string;
  trace_id?: string;
}

export interface AuditOutcome {
  status: number;
  /** MLflow's error_code when the answer was an error the gateway knows of. */
  error_code: string | null;
  /** "undecided" when the call ended before any rule judged it (shutdown, client gone). */
  decision: "allow" | "deny" | "undecided";
  /** The stage or rule that decided (e.g. "identity", "route", "cross-site", "read-only", "default-write"). */
  decided_by: string;
  /** The grant (or protected-alias rule) that matched, when the policy decided by one. */
  grant?: string;
  /** The permission the call needed, when the policy decided. */
  permission?: string;
  /** The gateway's own error code when the gateway answered (UNAUTHENTICATED, POLICY_DENIED, ...). */
  gateway_error: string | null;
  /** The client went away before the answer was complete. */
  abandoned: boolean;
}

export interface AuditEvent {
  schema_version: string;
  event_id: string;
  event_time: string;
  request_id: string;
  principal: AuditPrincipal;
  source_ip: string | null;
  user_agent: string | null;
  service: MlflowService | "gateway" | "unknown";
  action: string;
  method: string;
  path: string;
  objects: AuditObjects;
  /** Keys of params and tags the call wrote; their values are left out on purpose. */
  written_keys?: string[];
  outcome: AuditOutcome;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
}

/** No control characters (no forged second line), bounded length. */
export function auditString(value: string, max = MAX_AUDIT_STRING): string {
  const clean = value.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

export function optionalAuditString(value: string | undefined | null): string | null {
  return value === undefined || value === null || value === "" ? null : auditString(value);
}

export function newEventId(): string {
  return randomUUID();
}
