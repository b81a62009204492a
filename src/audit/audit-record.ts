import type { AuditEvent } from "./audit-event.js";
import type { Chained } from "./hash-chain.js";

/**
 * What one line of the audit stream holds, in every sink (stdout, local files, the
 * Unity Catalog volume): an event, or a signed digest vouching for the chain so far.
 * Both are chained (stream, seq, prev_hash, hash), so one verifier reads any sink.
 */
export type AuditEventRecord = AuditEvent & Chained & { type: "event" };

export interface AuditDigestRecord extends Chained {
  type: "digest";
  schema_version: string;
  event_time: string;
  /** The chain up to this record (the one just before the digest)... */
  covers_seq: number;
  covers_hash: string;
  /** ...signed: HMAC-SHA256 over `${stream}\n${covers_seq}\n${covers_hash}` (hash-chain.ts). */
  signature: string;
  /** Why the digest was written now: interval, rotation, batch, shutdown. */
  reason: string;
}

export type AuditRecord = AuditEventRecord | AuditDigestRecord;

/** Local audit files are named `audit-<YYYY-MM-DD>-<stream>-<part 4 digits>.jsonl`. */
export const AUDIT_FILE_PATTERN = /^audit-\d{4}-\d{2}-\d{2}-.+-\d{4}\.jsonl$/;

/**
 * Volume objects: `<volume root>/date=<YYYY-MM-DD>/<stream>-<batch 8 digits>.jsonl`, one per
 * batch; the stream id starts with its UTC start time, so name order is delivery order.
 */
export const VOLUME_OBJECT_PATTERN = /^.+-\d{8}\.jsonl$/;
