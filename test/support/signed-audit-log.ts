// Audit lines as the gateway writes them (canonical JSON, hash-chained, HMAC-signed digests),
// for tests of the reviewer's tools. Events carry every AuditEvent field.

import { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditOutcome, type AuditPrincipal } from "../../src/audit/audit-event.js";
import { canonicalJson, digestSignature, HashChain } from "../../src/audit/hash-chain.js";
import { TEST_AUDIT_KEY } from "./databricks.js";

/** The one digest key of the tests (>= 32 characters; used as UTF-8 bytes, as the gateway does). */
export { TEST_AUDIT_KEY };

export type EventSpec = Partial<Omit<AuditEvent, "principal" | "outcome">> & { principal?: Partial<AuditPrincipal>; outcome?: Partial<AuditOutcome> };

let counter = 0;

export function auditEvent(spec: EventSpec = {}): AuditEvent {
  counter += 1;
  const { principal, outcome, ...rest } = spec;
  return {
    schema_version: AUDIT_SCHEMA_VERSION,
    event_id: `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`,
    event_time: "2026-11-28T09:00:00.000Z",
    request_id: `req-${counter}`,
    source_ip: "10.0.0.7",
    user_agent: "mlflow-python-client/3.17.2",
    service: "tracking",
    action: "GetRun",
    method: "GET",
    path: "/api/2.0/mlflow/runs/get",
    objects: {},
    duration_ms: 12,
    bytes_in: 0,
    bytes_out: 420,
    ...rest,
    principal: { subject: "alice@example.com", email: "alice@example.com", user_name: "alice@example.com", verified_by: "token", ...principal },
    outcome: { status: 200, error_code: null, decision: "allow", decided_by: "policy", gateway_error: null, abandoned: false, ...outcome },
  };
}

/** One gateway stream: appends events and signed digests and returns each as its JSON line. */
export class AuditLogWriter {
  readonly chain: HashChain;
  readonly #key: Buffer;

  constructor(
    readonly stream: string,
    key: Buffer = Buffer.from(TEST_AUDIT_KEY, "utf8"),
  ) {
    this.chain = new HashChain(stream);
    this.#key = key;
  }

  event(spec: EventSpec = {}): string {
    return canonicalJson(this.chain.append({ type: "event", ...auditEvent(spec) }));
  }

  digest(reason: string, eventTime = "2026-11-28T09:00:00.000Z"): string {
    const coversSeq = this.chain.seq;
    const coversHash = this.chain.lastHash;
    return canonicalJson(
      this.chain.append({
        type: "digest",
        schema_version: AUDIT_SCHEMA_VERSION,
        event_time: eventTime,
        covers_seq: coversSeq,
        covers_hash: coversHash,
        signature: digestSignature(this.#key, this.stream, coversSeq, coversHash),
        reason,
      }),
    );
  }
}
