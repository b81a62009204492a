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
  // The output must never change (it is what the chain's hashes cover); the unit tests pin it.
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(",")}]`;
  return `{${canonicalMembers(value as Record<string, unknown>).members.join(",")}}`;
}

/**
 * An object's members in canonical form: its defined keys in UTF-16 code unit order (the
 * default sort), each written as `"key":value`. HashChain.appendLine joins them itself.
 */
function canonicalMembers(object: Record<string, unknown>): { keys: string[]; members: string[] } {
  const keys = Object.keys(object)
    .filter((key) => object[key] !== undefined)
    .sort();
  return { keys, members: keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`) };
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
   * Appends, and returns the record's canonical JSON line too, serialized once: the hashed
   * text and the line are both joined from the same members.
   */
  appendLine<T extends Record<string, unknown>>(content: T): { record: T & Chained; line: string } {
    this.#seq += 1;
    const unhashed: Record<string, unknown> = { ...content, stream: this.stream, seq: this.#seq, prev_hash: this.#lastHash };
    delete unhashed["hash"];
    const { keys, members } = canonicalMembers(unhashed);
    const hash = createHash("sha256")
      .update(`{${members.join(",")}}`)
      .digest("hex");
    // The same members with the hash in its sorted place: exactly canonicalJson(record).
    const at = keys.findIndex((key) => key > "hash");
    members.splice(at === -1 ? members.length : at, 0, `"hash":"${hash}"`);
    this.#lastHash = hash;
    return { record: { ...(unhashed as T & Omit<Chained, "hash">), hash }, line: `{${members.join(",")}}` };
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
