import type { AuditSink, SinkHealth } from "./audit-sink.js";

/**
 * JSON lines on stdout, where Databricks Apps captures them next to the operational log
 * (audit lines are the ones with `stream` and `seq`). Not durable: nobody can tell whether
 * a line reached the platform's log store, so the failure policy does not rely on it.
 */
export class StdoutSink implements AuditSink {
  readonly name = "stdout";
  readonly durable = false;
  #accepted = 0;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  get accepted(): number {
    return this.#accepted;
  }

  accept(line: string): void {
    this.#accepted += 1;
    this.out.write(`${line}\n`);
  }

  health(): SinkHealth {
    return { ok: true, detail: "writing JSON lines to stdout", pending: 0 };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
