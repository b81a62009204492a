import type { AuditRecord } from "../audit-record.js";

export interface SinkHealth {
  /** False when the sink can no longer keep what it is given (the failure policy then applies). */
  ok: boolean;
  detail: string;
  /** Records accepted but not yet where this sink promises to put them (disk, volume). */
  pending: number;
}

/**
 * One destination of the audit stream. `accept` is called on the request path: it must
 * neither throw nor wait for I/O; the sink does its I/O in the background, in order.
 */
export interface AuditSink {
  readonly name: string;
  /** False for sinks whose loss nobody could notice (stdout); the failure policy watches durable ones. */
  readonly durable: boolean;
  accept(line: string, record: AuditRecord): void;
  /** Records accepted so far (to know when the winston pipeline has handed everything over). */
  readonly accepted: number;
  health(): SinkHealth;
  /** Gets everything accepted to its destination, giving up at `deadline` (epoch ms). */
  close(deadline: number): Promise<void>;
}
