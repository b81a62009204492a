import { mkdirSync, readdirSync, statSync } from "node:fs";
import { open, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import type { AuditRecord } from "../audit-record.js";
import type { AuditSink, SinkHealth } from "./audit-sink.js";

/** Where batches go: a PUT of the whole object (the Files API), as the service principal. */
export type PutObject = (volumePath: string, body: Buffer, timeoutMs: number) => Promise<void>;

/** An upload that takes longer than this is abandoned and retried. */
const UPLOAD_TIMEOUT_MS = 30_000;

export interface VolumeSinkOptions {
  /** `/Volumes/<catalog>/<schema>/<volume>[/<prefix>]`. */
  volumePath: string;
  /** Batches wait here, fsynced, until the volume has them; survives restarts. */
  spoolDir: string;
  stream: string;
  batchMaxEvents: number;
  batchIntervalMs: number;
  spoolMaxBytes: number;
  put: PutObject;
  /** First retry delay; doubles up to maxBackoffMs while the workspace keeps failing. */
  backoffMs?: number;
  maxBackoffMs?: number;
  onEvent?: (level: "info" | "warn", message: string, meta?: Record<string, unknown>) => void;
}

interface SpooledBatch {
  name: string;
  bytes: number;
  records: number;
}

/** Retries during an outage are at most this far apart: one small PUT, and delivery resumes soon after recovery. */
const MAX_BACKOFF_MS = 10_000;
/** Failed delivery attempts in a row after which a shutdown leaves the rest to the next start. */
const CLOSE_ATTEMPTS = 3;
const SPOOL_NAME = /^.+-\d{8}\.jsonl$/;

/**
 * The durable sink: batches of JSON lines delivered to a Unity Catalog volume through the
 * Files API, one object per batch at `<volume>/date=<day>/<stream>-<batch>.jsonl`.
 *
 * A sealed batch is first written to the local spool (fsynced), then uploaded; it leaves
 * the spool only once the volume has it. Uploads go one at a time, oldest first, so the
 * volume receives batches in order, and after a restart the spool left by earlier runs is
 * delivered before anything new (stream ids start with their start time, so name order is
 * age order). Re-sending a batch whose first upload succeeded unacknowledged overwrites the
 * same object with the same bytes: nothing arrives twice.
 */
export class VolumeSink implements AuditSink {
  readonly name = "volume";
  readonly durable = true;
  readonly #options: VolumeSinkOptions;
  #batch: string[] = [];
  #batchDay: string | undefined;
  #batchTimer: NodeJS.Timeout | undefined;
  #batchSeq = 0;
  #accepted = 0;
  /** Sealed batches waiting for the spool write (in memory), then for the volume (on disk). */
  #sealing: { name: string; lines: string[]; day: string }[] = [];
  #spooled: SpooledBatch[] = [];
  #spoolBytes = 0;
  #spoolError: string | undefined;
  #deliveryError: string | undefined;
  #oldestUndeliveredAt: number | undefined;
  #delivered = 0;
  #working: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoffMs: number;
  #stopped = false;
  #deadline = Number.POSITIVE_INFINITY;

  constructor(options: VolumeSinkOptions) {
    this.#options = options;
    this.#backoffMs = options.backoffMs ?? 1_000;
    mkdirSync(options.spoolDir, { recursive: true, mode: 0o750 });
    // Batches an earlier run could not deliver go first.
    for (const name of readdirSync(options.spoolDir)
      .filter((n) => SPOOL_NAME.test(n))
      .sort()) {
      const bytes = statSync(path.join(options.spoolDir, name)).size;
      this.#spooled.push({ name, bytes, records: -1 });
      this.#spoolBytes += bytes;
    }
    if (this.#spooled.length > 0) {
      this.#oldestUndeliveredAt = Date.now();
      options.onEvent?.("info", "delivering audit batches left by an earlier run", { batches: this.#spooled.length, bytes: this.#spoolBytes });
      this.#kick();
    }
  }

  get accepted(): number {
    return this.#accepted;
  }

  /** Batches delivered to the volume by this process. */
  get delivered(): number {
    return this.#delivered;
  }

  accept(line: string, record: AuditRecord): void {
    this.#accepted += 1;
    const day = record.event_time.slice(0, 10);
    // A batch never spans two days: each object sits in its own day's folder.
    if (this.#batchDay !== undefined && day !== this.#batchDay) this.#seal();
    this.#batch.push(line);
    this.#batchDay = day;
    this.#oldestUndeliveredAt ??= Date.now();
    if (this.#batch.length >= this.#options.batchMaxEvents) {
      this.#seal();
    } else if (this.#batchTimer === undefined) {
      this.#batchTimer = setTimeout(() => this.#seal(), this.#options.batchIntervalMs);
      this.#batchTimer.unref();
    }
  }

  health(): SinkHealth {
    const pendingBatches = this.#spooled.length + this.#sealing.length;
    const pending =
      this.#batch.length + this.#sealing.reduce((n, b) => n + b.lines.length, 0) + this.#spooled.reduce((n, b) => n + Math.max(b.records, 0), 0);
    if (this.#spoolError !== undefined) {
      return { ok: false, detail: `cannot spool audit batches in ${this.#options.spoolDir}: ${this.#spoolError}`, pending };
    }
    if (this.#spoolBytes > this.#options.spoolMaxBytes) {
      return {
        ok: false,
        detail: `${pendingBatches} undelivered audit batches (${this.#spoolBytes} bytes) exceed the spool bound of ${this.#options.spoolMaxBytes} bytes; last error: ${this.#deliveryError ?? "none"}`,
        pending,
      };
    }
    const lag = this.#oldestUndeliveredAt === undefined ? 0 : Math.round((Date.now() - this.#oldestUndeliveredAt) / 1000);
    const detail =
      this.#deliveryError === undefined
        ? `delivering to ${this.#options.volumePath} (${pendingBatches} batches waiting)`
        : `volume unreachable, ${pendingBatches} batches spooled for ${lag} s: ${this.#deliveryError}`;
    return { ok: true, detail, pending };
  }

  async close(deadline: number): Promise<void> {
    this.#seal();
    this.#stopped = true;
    this.#deadline = deadline;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    // At shutdown the backoff is too slow: retry quickly, until the deadline or until the
    // workspace has failed a few times in a row (then the spool keeps the batches for the
    // next start, and the shutdown does not spend its whole budget on an outage).
    let failuresInARow = 0;
    while ((this.#sealing.length > 0 || this.#spooled.length > 0) && Date.now() < deadline && failuresInARow < CLOSE_ATTEMPTS) {
      const before = this.#delivered;
      await this.#work(deadline);
      failuresInARow = this.#delivered > before || this.#deliveryError === undefined ? 0 : failuresInARow + 1;
      if (this.#sealing.length > 0 || this.#spooled.length > 0)
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(0, deadline - Date.now()))));
    }
    await this.#working;
    const left = this.#spooled.length + this.#sealing.length;
    if (left > 0) {
      this.#options.onEvent?.("warn", "audit batches not yet in the volume stay in the spool and are delivered at the next start", {
        batches: left,
        spoolDir: this.#options.spoolDir,
      });
    }
  }

  #seal(): void {
    if (this.#batchTimer !== undefined) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    if (this.#batch.length === 0 || this.#batchDay === undefined) return;
    this.#batchSeq += 1;
    this.#sealing.push({ name: `${this.#options.stream}-${String(this.#batchSeq).padStart(8, "0")}.jsonl`, lines: this.#batch, day: this.#batchDay });
    this.#batch = [];
    this.#batchDay = undefined;
    this.#kick();
  }

  #kick(): void {
    if (this.#working !== undefined || this.#retryTimer !== undefined || this.#stopped) return;
    void this.#work(Number.POSITIVE_INFINITY);
  }

  /** Spools sealed batches, then uploads spooled ones oldest first, until both are empty or a step fails. */
  async #work(deadline: number): Promise<void> {
    while (this.#working !== undefined) await this.#working;
    const done = this.#drain(deadline).finally(() => {
      this.#working = undefined;
    });
    this.#working = done;
    await done;
  }

  async #drain(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const sealed = this.#sealing[0];
      if (sealed !== undefined) {
        if (!(await this.#spool(sealed))) return this.#retryLater();
        continue;
      }
      const next = this.#spooled[0];
      if (next === undefined) {
        this.#oldestUndeliveredAt = this.#batch.length > 0 ? this.#oldestUndeliveredAt : undefined;
        return;
      }
      if (!(await this.#upload(next))) return this.#retryLater();
    }
  }

  async #spool(sealed: { name: string; lines: string[]; day: string }): Promise<boolean> {
    // The day travels in the spooled name's first line (event_time), so a restart can place it.
    const body = Buffer.from(`${sealed.lines.join("\n")}\n`, "utf8");
    const file = path.join(this.#options.spoolDir, sealed.name);
    try {
      const handle = await open(file, "w", 0o640);
      try {
        // writeFile loops until every byte is out: a single write can be short on a filling disk.
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.#spoolError = (error as NodeJS.ErrnoException).code ?? String(error);
      return false;
    }
    this.#spoolError = undefined;
    this.#sealing.shift();
    this.#spooled.push({ name: sealed.name, bytes: body.length, records: sealed.lines.length });
    this.#spoolBytes += body.length;
    return true;
  }

  async #upload(batch: SpooledBatch): Promise<boolean> {
    const file = path.join(this.#options.spoolDir, batch.name);
    try {
      const body = await readFile(file);
      const day = dayOf(body);
      const timeoutMs = Math.max(100, Math.min(UPLOAD_TIMEOUT_MS, this.#deadline - Date.now()));
      await this.#options.put(`${this.#options.volumePath}/date=${day}/${batch.name}`, body, timeoutMs);
      await unlink(file);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.#deliveryError === undefined)
        this.#options.onEvent?.("warn", "audit batch could not be delivered to the volume; it stays spooled and is retried", {
          batch: batch.name,
          error: message,
        });
      this.#deliveryError = message;
      return false;
    }
    if (this.#deliveryError !== undefined)
      this.#options.onEvent?.("info", "audit batches are reaching the volume again", { after: this.#deliveryError });
    this.#deliveryError = undefined;
    this.#backoffMs = this.#options.backoffMs ?? 1_000;
    this.#spooled.shift();
    this.#spoolBytes -= batch.bytes;
    this.#delivered += 1;
    return true;
  }

  #retryLater(): void {
    if (this.#stopped) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.maxBackoffMs ?? MAX_BACKOFF_MS);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick();
    }, delay);
    this.#retryTimer.unref();
  }
}

/** The UTC day of a batch: its first record's event_time. */
function dayOf(body: Buffer): string {
  const firstLine = body.subarray(0, Math.max(0, body.indexOf(10))).toString("utf8");
  const time = (JSON.parse(firstLine) as { event_time?: unknown }).event_time;
  if (typeof time !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(time)) throw new Error("spooled batch has no event_time on its first line");
  return time.slice(0, 10);
}
