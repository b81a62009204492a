import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Tamper evidence for the audit stream, in the spirit of CloudTrail log-file integrity
 * validation: each record carries its sequence number, the hash of the previous record
 * and its own hash (SHA-256 over a canonical serialization), and a signed digest (HMAC
 * with a key the log's writer cannot be handed by a reader) periodically vouches for the
 * chain so far. Editing, removing, reordering or inserting a record breaks the chain;
 * rewriting the whole chain cannot produce valid digests without the key.
 */

export const GENESIS_HASH = "0".repeat(64);

/** Fields every chained record has; the rest is the record's content. */
export interface Chained {
  stream: string;
  seq: number;
  prev_hash: string;
  hash: string;
}

export type ChainedRecord = Chained & Record<string, unknown>;

/** JSON with object keys sorted at every level, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The hash of a record: everything but its own `hash` field. */
export function hashRecord(record: Omit<ChainedRecord, "hash"> & { hash?: string }): string {
  const content: Record<string, unknown> = { ...record };
  delete content["hash"];
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

/** Appends records to one stream, linking each to the one before. */
export class HashChain {
  #seq: number;
  #lastHash: string;

  constructor(
    readonly stream: string,
    resumeFrom?: { seq: number; hash: string },
  ) {
    this.#seq = resumeFrom?.seq ?? 0;
    this.#lastHash = resumeFrom?.hash ?? GENESIS_HASH;
  }

  append<T extends Record<string, unknown>>(content: T): T & Chained {
    this.#seq += 1;
    const record = { ...content, stream: this.stream, seq: this.#seq, prev_hash: this.#lastHash };
    const hash = hashRecord(record);
    this.#lastHash = hash;
    return { ...record, hash };
  }

  get seq(): number {
    return this.#seq;
  }

  get lastHash(): string {
    return this.#lastHash;
  }
}

/** What a digest vouches for: the chain of `stream` up to `seq`, ending in `last_hash`. */
export function digestSignature(key: Buffer, stream: string, seq: number, lastHash: string): string {
  return createHmac("sha256", key).update(`${stream}\n${seq}\n${lastHash}`).digest("hex");
}

export function digestMatches(key: Buffer, stream: string, seq: number, lastHash: string, signature: string): boolean {
  const expected = Buffer.from(digestSignature(key, stream, seq, lastHash), "hex");
  const given = Buffer.from(signature, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
