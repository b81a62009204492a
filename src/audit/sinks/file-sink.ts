import { mkdirSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import path from "node:path";
import type { AuditSink, SinkHealth } from "./audit-sink.js";

export interface FileSinkOptions {
  dir: string;
  /** The chain's stream id; part of every file name, so instances never share a file. */
  stream: string;
  maxBytes: number;
  fsyncIntervalMs: number;
  /** Retry delay after a failed write (disk full, folder gone). */
  retryMs?: number;
  now?: () => Date;
  onEvent?: (level: "info" | "warn" | "error", message: string) => void;
  /** Opens an audit file; tests pass one whose writes fail the way a full disk does. */
  openFile?: (file: string, flags: string, mode: number) => Promise<FileHandle>;
}

interface OpenFile {
  handle: FileHandle;
  day: string;
  bytes: number;
  name: string;
}

/** Above this much unwritten audit data the sink reports itself failing, whatever the cause. */
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

/**
 * Append-only local files, rotated by size and by UTC day: `audit-<day>-<stream>-<part>.jsonl`.
 * Lines are gathered and written in one append per turn of the event loop; the data is
 * fsynced on an interval and at every rotation and close, so at most one interval of
 * events can be lost to a power cut (none to a process crash: they are in the page cache).
 * A failed write keeps its lines and is retried in order; until it succeeds the sink
 * reports itself failing so the gateway can apply its failure policy.
 */
export class FileSink implements AuditSink {
  readonly name = "file";
  readonly durable = true;
  readonly #options: FileSinkOptions;
  readonly #now: () => Date;
  #queue: string[] = [];
  #queuedBytes = 0;
  #accepted = 0;
  #written = 0;
  #file: OpenFile | undefined;
  #part = 0;
  #dirty = false;
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  #error: string | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #syncTimer: NodeJS.Timeout;
  #closed = false;

  constructor(options: FileSinkOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    mkdirSync(options.dir, { recursive: true, mode: 0o750 });
    this.#syncTimer = setInterval(() => void this.#sync(), options.fsyncIntervalMs);
    this.#syncTimer.unref();
  }

  get accepted(): number {
    return this.#accepted;
  }

  /** The file being written now (tests and the admin page show it). */
  get currentFile(): string | undefined {
    return this.#file === undefined ? undefined : path.join(this.#options.dir, this.#file.name);
  }

  accept(line: string): void {
    this.#accepted += 1;
    this.#queue.push(`${line}\n`);
    this.#queuedBytes += line.length + 1;
    if (!this.#scheduled && this.#retryTimer === undefined) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#flush();
      });
    }
  }

  health(): SinkHealth {
    const pending = this.#accepted - this.#written;
    if (this.#error !== undefined) return { ok: false, detail: `cannot write audit files in ${this.#options.dir}: ${this.#error}`, pending };
    if (this.#queuedBytes > MAX_BACKLOG_BYTES) return { ok: false, detail: `audit files are ${this.#queuedBytes} bytes behind`, pending };
    return { ok: true, detail: `writing ${this.currentFile ?? this.#options.dir}`, pending };
  }

  async close(deadline: number): Promise<void> {
    this.#closed = true;
    clearInterval(this.#syncTimer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    // Keep trying (a full disk may free up) until everything is written or time is up.
    while (this.#queue.length > 0 && Date.now() < deadline) {
      await this.#flush();
      if (this.#queue.length > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(0, deadline - Date.now()))));
    }
    await this.#flushing;
    await this.#closeFile();
  }

  /** One writer at a time: a flush that finds another in progress waits, then writes what is left. */
  async #flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#queue.length === 0) return;
    const done = this.#writeQueued().finally(() => {
      this.#flushing = undefined;
    });
    this.#flushing = done;
    await done;
  }

  async #writeQueued(): Promise<void> {
    // Taken off the queue; a failure below puts them back in front, in order, for the retry.
    const lines = this.#queue;
    const bytes = this.#queuedBytes;
    this.#queue = [];
    this.#queuedBytes = 0;
    try {
      const chunk = Buffer.from(lines.join(""), "utf8");
      const file = await this.#fileFor(chunk.length);
      await this.#append(file, chunk);
      file.bytes += chunk.length;
      this.#written += lines.length;
      this.#dirty = true;
      if (this.#error !== undefined) this.#options.onEvent?.("info", `audit files are being written again after: ${this.#error}`);
      this.#error = undefined;
    } catch (error) {
      this.#queue = lines.concat(this.#queue);
      this.#queuedBytes += bytes;
      const message = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (this.#error === undefined) this.#options.onEvent?.("error", `cannot write audit file: ${message}`);
      this.#error = message;
      // The handle may be the problem (file removed, disk replaced): reopen on retry.
      await this.#closeFile().catch(() => undefined);
      if (!this.#closed) {
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          void this.#flush();
        }, this.#options.retryMs ?? 1_000);
        this.#retryTimer.unref();
      }
    }
  }

  /**
   * Appends all of `chunk` or none of it. A write can be short (a disk that fills midway
   * writes what fits, and only the next write fails with ENOSPC), so it loops; when it fails
   * after a part went out, the file is cut back to its last whole line, so the retry writes
   * those lines whole and no torn line breaks the file for readers and for `audit verify`.
   */
  async #append(file: OpenFile, chunk: Buffer): Promise<void> {
    let offset = 0;
    try {
      while (offset < chunk.length) {
        const { bytesWritten } = await file.handle.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
    } catch (error) {
      if (offset > 0) {
        await file.handle.truncate(file.bytes).catch((truncateError: unknown) => {
          const code = (truncateError as NodeJS.ErrnoException).code ?? String(truncateError);
          this.#options.onEvent?.(
            "error",
            `cannot cut ${file.name} back to its last whole line at byte ${file.bytes} (${code}); its last line is torn`,
          );
        });
      }
      throw error;
    }
  }

  /** The file to append `bytes` to, rotating at the size bound and at UTC midnight. */
  async #fileFor(bytes: number): Promise<OpenFile> {
    const day = this.#now().toISOString().slice(0, 10);
    const current = this.#file;
    if (current !== undefined && current.day === day && (current.bytes === 0 || current.bytes + bytes <= this.#options.maxBytes)) return current;
    await this.#closeFile();
    this.#part = current === undefined || current.day === day ? this.#part + 1 : 1;
    const name = `audit-${day}-${this.#options.stream}-${String(this.#part).padStart(4, "0")}.jsonl`;
    const handle = await (this.#options.openFile ?? open)(path.join(this.#options.dir, name), "a", 0o640);
    const stat = await handle.stat();
    this.#file = { handle, day, bytes: stat.size, name };
    return this.#file;
  }

  async #sync(): Promise<void> {
    if (!this.#dirty || this.#file === undefined) return;
    this.#dirty = false;
    try {
      await this.#file.handle.sync();
    } catch (error) {
      this.#dirty = true;
      this.#options.onEvent?.("error", `cannot fsync audit file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }

  async #closeFile(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    try {
      if (this.#dirty) await file.handle.sync();
      this.#dirty = false;
    } finally {
      await file.handle.close();
    }
  }
}
