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
  // Runs twice per audit event on the request path: plain loops, no intermediate arrays.
  // The output must never change (it is what the chain's hashes cover); the unit tests pin it.
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i += 1) out += (i === 0 ? "" : ",") + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  // Default sort: UTF-16 code unit order, the same as comparing with < and >.
  const keys = Object.keys(object).sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const item = object[key];
    if (item === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(key)}:${canonicalJson(item)}`;
    first = false;
  }
  return `${out}}`;
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
    return this.appendLine(content).record;
  }

  /**
   * Appends, and returns the record's canonical JSON line too, serialized once: each
   * top-level field is written once and the hashed text and the line are both joined
   * from those parts (the line is exactly `canonicalJson(record)`).
   */
  appendLine<T extends Record<string, unknown>>(content: T): { record: T & Chained; line: string } {
    this.#seq += 1;
    const unhashed: Record<string, unknown> = { ...content, stream: this.stream, seq: this.#seq, prev_hash: this.#lastHash };
    delete unhashed["hash"];
    const keys = Object.keys(unhashed)
      .filter((key) => unhashed[key] !== undefined)
      .sort();
    const parts = keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(unhashed[key])}`);
    const hash = createHash("sha256")
      .update(`{${parts.join(",")}}`)
      .digest("hex");
    const at = keys.findIndex((key) => key > "hash");
    parts.splice(at === -1 ? parts.length : at, 0, `"hash":"${hash}"`);
    this.#lastHash = hash;
    return { record: { ...(unhashed as T & Omit<Chained, "hash">), hash }, line: `{${parts.join(",")}}` };
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
