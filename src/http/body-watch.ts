import type { IncomingMessage } from "node:http";

/** How often bodies in flight are checked; the limits below are multiples of it. */
export const BODY_CHECK_INTERVAL_MS = 1_000;

export interface BodyLimits {
  /** No byte of the body for this long: the client stalled (slow-body attack or a dead link). */
  idleMs: number;
  /** The whole body must arrive within this long (API bodies are small); undefined: no deadline. */
  totalMs: number | undefined;
  /** More body bytes than this (counted on the socket, so chunked bodies too); undefined: no cap. */
  maxBytes: number | undefined;
}

export type BodyViolation = "idle" | "slow" | "too-large";

interface Watched {
  req: IncomingMessage;
  limits: BodyLimits;
  onViolation: (violation: BodyViolation) => void;
  /** The socket's bytesRead when the body began (headers and earlier requests excluded). */
  startBytes: number;
  lastBytes: number;
  lastProgressAt: number;
  startedAt: number;
}

/**
 * Watches request bodies while they arrive, from the socket's byte count, on one shared
 * timer. It adds no listener to the request: a 'data' listener would start the body
 * flowing before the proxy pipes it (see body-observer.ts), and the stages that read
 * bodies themselves (attribution, artifacts) stay as they are.
 *
 * Node bounds the headers (headersTimeout, maxHeaderSize) but not the body: without this
 * a client could hold a connection forever at a byte a minute, or stream an endless
 * chunked body into a JSON route.
 */
export class BodyWatch {
  readonly #watched = new Set<Watched>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Watches `req`'s body until it is complete or the request is gone; calls `onViolation` at most once. */
  watch(req: IncomingMessage, limits: BodyLimits, onViolation: (violation: BodyViolation) => void): void {
    if (req.complete || req.socket === null) return;
    const bytes = req.socket.bytesRead;
    const now = this.#now();
    this.#watched.add({ req, limits, onViolation, startBytes: bytes, lastBytes: bytes, lastProgressAt: now, startedAt: now });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.check(), BODY_CHECK_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  get size(): number {
    return this.#watched.size;
  }

  /** One pass over the bodies in flight (the timer's; public so tests drive time). */
  check(): void {
    const now = this.#now();
    for (const entry of this.#watched) {
      const { req, limits } = entry;
      if (req.complete || req.destroyed || req.socket === null || req.socket.destroyed) {
        this.#watched.delete(entry);
        continue;
      }
      const bytes = req.socket.bytesRead;
      const violation = violationOf(entry, limits, bytes, now);
      if (violation !== undefined) {
        this.#watched.delete(entry);
        entry.onViolation(violation);
        continue;
      }
      if (bytes !== entry.lastBytes) {
        entry.lastBytes = bytes;
        entry.lastProgressAt = now;
      }
    }
    if (this.#watched.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watched.clear();
  }
}

function violationOf(entry: Watched, limits: BodyLimits, bytes: number, now: number): BodyViolation | undefined {
  if (limits.maxBytes !== undefined && bytes - entry.startBytes > limits.maxBytes + CHUNK_FRAMING_ALLOWANCE) return "too-large";
  if (limits.totalMs !== undefined && now - entry.startedAt > limits.totalMs) return "slow";
  if (bytes === entry.lastBytes && now - entry.lastProgressAt > limits.idleMs) return "idle";
  return undefined;
}

/**
 * Socket bytes include chunked framing (a size line per chunk) and whatever of the body
 * was already read with the headers: a little slack so a body just under the cap passes.
 * A flood is caught one check later; the declared-length check catches honest clients first.
 */
const CHUNK_FRAMING_ALLOWANCE = 64 * 1024;
