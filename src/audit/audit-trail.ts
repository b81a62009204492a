import { randomBytes } from "node:crypto";
import winston from "winston";
import TransportStream from "winston-transport";
import type { AuditFailurePolicy } from "../config/audit-config.js";
import { GatewayError } from "../errors.js";
import type { Logger } from "../log/create-logger.js";
import type { ReadinessCheck } from "../readiness.js";
import type { OperationClass } from "../routes/classify-operation.js";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "./audit-event.js";
import type { AuditDigestRecord, AuditEventRecord, AuditRecord } from "./audit-record.js";
import { HashChain, digestSignature } from "./hash-chain.js";
import type { AuditSink } from "./sinks/audit-sink.js";

export interface AuditTrailOptions {
  stream: string;
  sinks: readonly AuditSink[];
  hmacKey: Buffer;
  digestIntervalMs: number;
  onFailure: AuditFailurePolicy;
  logger: Logger;
  /** Events kept in memory for the admin page. */
  recentLimit?: number;
}

export interface AuditStats {
  events: number;
  digests: number;
  /** Records accepted by the trail that the slowest sink has not yet made durable. */
  queued: number;
}

const DEFAULT_RECENT_LIMIT = 10_000;
/** How often the sinks' health is looked at, so a failure is logged even with no traffic. */
const HEALTH_WATCH_MS = 1_000;
/** Time the winston pipeline gets to hand the last records to the sinks at shutdown. */
const HANDOFF_WAIT_MS = 500;

/** `gw-<UTC start, ms>-<random>`: unique per gateway process, and name order is start order. */
export function newStreamId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `gw-${stamp}-${randomBytes(3).toString("hex")}`;
}

/** Winston transport handing each line to one sink; the sink does its own (background) I/O. */
class SinkTransport extends TransportStream {
  readonly #sink: AuditSink;

  constructor(sink: AuditSink) {
    super({ level: "info" });
    this.#sink = sink;
  }

  override log(info: { message: string; record: AuditRecord }, next: () => void): void {
    this.#sink.accept(info.message, info.record);
    next();
  }
}

/**
 * The audit stream of this gateway process: every record is chained (hash of the one
 * before), serialized once as canonical JSON, and handed through its own winston logger
 * (never the operational one) to each sink. Recording is synchronous and cheap (a hash
 * and a queue push); sinks write in the background, so the request path never waits on
 * disk or network. Digests signed with the HMAC key are added on an interval and at the end.
 */
export class AuditTrail implements ReadinessCheck {
  readonly name = "audit";
  readonly stream: string;
  readonly #options: AuditTrailOptions;
  readonly #chain: HashChain;
  readonly #winston: winston.Logger;
  /** A ring: the oldest kept event is overwritten in place (shifting 10,000 entries per event is not free). */
  readonly #recent: AuditEventRecord[] = [];
  #recentNext = 0;
  readonly #recentLimit: number;
  readonly #digestTimer: NodeJS.Timeout;
  readonly #healthTimer: NodeJS.Timeout;
  #records = 0;
  #events = 0;
  #digests = 0;
  #digestedSeq = 0;
  #closed = false;
  #wasFailing = false;

  constructor(options: AuditTrailOptions) {
    this.#options = options;
    this.stream = options.stream;
    this.#chain = new HashChain(options.stream);
    this.#recentLimit = options.recentLimit ?? DEFAULT_RECENT_LIMIT;
    this.#winston = winston.createLogger({
      level: "info",
      format: winston.format((info) => info)(),
      transports: options.sinks.map((sink) => new SinkTransport(sink)),
    });
    this.#digestTimer = setInterval(() => this.digest("interval"), options.digestIntervalMs);
    this.#digestTimer.unref();
    this.#healthTimer = setInterval(() => this.#watchHealth(), HEALTH_WATCH_MS);
    this.#healthTimer.unref();
  }

  /** Chains and hands one event to every sink. Never throws, never waits. */
  record(event: AuditEvent): void {
    if (this.#closed) {
      this.#options.logger.error("audit event after the audit trail was closed", { requestId: event.request_id, action: event.action });
      return;
    }
    const { record, line }: { record: AuditEventRecord; line: string } = this.#chain.appendLine({ ...event, type: "event" as const });
    this.#events += 1;
    if (this.#recent.length < this.#recentLimit) this.#recent.push(record);
    else this.#recent[this.#recentNext] = record;
    this.#recentNext = (this.#recentNext + 1) % this.#recentLimit;
    this.#write(record, line);
  }

  /**
   * A signed digest vouching for the chain so far, if anything was added since the last one;
   * the shutdown digest is always written, so a reviewer can tell a stream ended cleanly.
   */
  digest(reason: string, always = false): void {
    if (this.#closed || (!always && this.#chain.seq === this.#digestedSeq)) return;
    const coversSeq = this.#chain.seq;
    const coversHash = this.#chain.lastHash;
    const { record, line }: { record: AuditDigestRecord; line: string } = this.#chain.appendLine({
      type: "digest" as const,
      schema_version: AUDIT_SCHEMA_VERSION,
      event_time: new Date().toISOString(),
      covers_seq: coversSeq,
      covers_hash: coversHash,
      signature: digestSignature(this.#options.hmacKey, this.stream, coversSeq, coversHash),
      reason,
    });
    this.#digestedSeq = record.seq;
    this.#digests += 1;
    this.#write(record, line);
  }

  #write(record: AuditRecord, line: string): void {
    this.#records += 1;
    this.#winston.log({ level: "info", message: line, record });
  }

  /** The latest events (oldest first), for the admin page. */
  recent(): readonly AuditEventRecord[] {
    if (this.#recent.length < this.#recentLimit) return [...this.#recent];
    return [...this.#recent.slice(this.#recentNext), ...this.#recent.slice(0, this.#recentNext)];
  }

  stats(): AuditStats {
    const queued = Math.max(0, ...this.#options.sinks.map((sink) => sink.health().pending + (this.#records - sink.accepted)));
    return { events: this.#events, digests: this.#digests, queued };
  }

  /** Readiness: fails when a durable sink can no longer keep events. */
  check(): { ok: boolean; detail: string } {
    const failing = this.#failing();
    if (failing.length > 0) {
      return { ok: false, detail: `audit cannot be recorded durably (${this.#options.onFailure}): ${failing.join("; ")}` };
    }
    const details = this.#options.sinks.map((sink) => `${sink.name}: ${sink.health().detail}`);
    return { ok: true, detail: details.join("; ") };
  }

  /**
   * The failure policy: with a durable sink failing, a call of this class is refused
   * (503) rather than performed unaudited, unless the operator chose otherwise.
   */
  refusal(operationClass: OperationClass): GatewayError | undefined {
    const failing = this.#watchHealth();
    if (failing.length === 0) return undefined;
    const policy = this.#options.onFailure;
    const changes = operationClass === "write" || operationClass === "delete";
    if (policy === "allow" || (policy === "refuse-writes" && !changes)) return undefined;
    return new GatewayError(
      "AUDIT_UNAVAILABLE",
      `The audit trail cannot record this call right now, so it was not performed (${failing.join("; ")}). Retry later; the operators have been told.`,
      { retryAfterSeconds: 10 },
    );
  }

  /** Logs each change between durable and failing, whether or not calls are arriving. */
  #watchHealth(): string[] {
    const failing = this.#failing();
    if (failing.length === 0 && this.#wasFailing) {
      this.#options.logger.warn("audit trail is recording durably again; calls are accepted");
    } else if (failing.length > 0 && !this.#wasFailing) {
      this.#options.logger.error("audit trail cannot record durably; applying the failure policy", { policy: this.#options.onFailure, failing });
    }
    this.#wasFailing = failing.length > 0;
    return failing;
  }

  #failing(): string[] {
    return this.#options.sinks
      .filter((sink) => sink.durable)
      .flatMap((sink) => {
        const health = sink.health();
        return health.ok ? [] : [`${sink.name}: ${health.detail}`];
      });
  }

  /** Final digest, then every sink flushed, all by `deadline` (epoch ms). */
  async close(deadline: number): Promise<void> {
    this.digest("shutdown", true);
    this.#closed = true;
    clearInterval(this.#digestTimer);
    clearInterval(this.#healthTimer);
    // Winston hands records over asynchronously: wait until every sink has them all.
    const handoffBy = Math.min(deadline, Date.now() + HANDOFF_WAIT_MS);
    while (this.#options.sinks.some((sink) => sink.accepted < this.#records) && Date.now() < handoffBy) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(this.#options.sinks.map((sink) => sink.close(deadline)));
    this.#winston.close();
    const behind = this.#options.sinks.map((sink) => ({ sink: sink.name, pending: sink.health().pending })).filter((s) => s.pending > 0);
    if (behind.length > 0) this.#options.logger.warn("audit sinks still had records pending at shutdown", { behind });
  }
}
