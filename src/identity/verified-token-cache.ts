import { createHash } from "node:crypto";

/** Bounds memory when many distinct tokens arrive (a flood must not grow the heap). */
export const MAX_CACHED_TOKENS = 10_000;

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/**
 * Verified tokens by SHA-256 of the token (the token itself is never kept), until the
 * token's own expiry, so the hot path does not re-verify signatures. Oldest entries go
 * first when full (a Map iterates in insertion order).
 */
export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, Entry<T>>();

  constructor(private readonly maxEntries = MAX_CACHED_TOKENS) {}

  get(token: string, now: number): T | undefined {
    const key = hashToken(token);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(token: string, value: T, expiresAt: number): void {
    const key = hashToken(token);
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expiresAt });
  }

  get size(): number {
    return this.#entries.size;
  }
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
