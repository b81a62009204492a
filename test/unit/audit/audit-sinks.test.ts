import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { AuditEvent } from "../../../src/audit/audit-event.js";
import type { AuditRecord } from "../../../src/audit/audit-record.js";
import { AuditTrail } from "../../../src/audit/audit-trail.js";
import { canonicalJson } from "../../../src/audit/hash-chain.js";
import { FileSink } from "../../../src/audit/sinks/file-sink.js";
import { VolumeSink } from "../../../src/audit/sinks/volume-sink.js";
import { verifyChain } from "../../../src/audit/verify-chain.js";
import { sleep } from "../../../src/supervisor/wait-for-health.js";
import { captureLogger } from "../../support/capture-logger.js";
import { waitUntil } from "../../support/wait-for.js";

const KEY = Buffer.from("unit-test-audit-key-0123456789abcdefgh");
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "audit-sink-test-"));
  dirs.push(dir);
  return dir;
}

function event(n: number, time = "2026-11-28T10:00:00.000Z"): AuditEvent {
  return {
    schema_version: "1",
    event_id: `e-${n}`,
    event_time: time,
    request_id: `r-${n}`,
    principal: { subject: "alice", email: "alice@example.com", user_name: null, verified_by: "headers" },
    source_ip: "10.0.0.1",
    user_agent: "test",
    service: "tracking",
    action: "GetExperiment",
    method: "GET",
    path: "/api/2.0/mlflow/experiments/get",
    objects: { experiment_id: String(n) },
    outcome: { status: 200, error_code: null, decision: "allow", decided_by: "default-read", gateway_error: null, abandoned: false },
    duration_ms: 1,
    bytes_in: 0,
    bytes_out: 10,
  };
}

/** Records in the shape the trail hands to sinks (only event_time matters to them). */
function record(n: number, time?: string): { line: string; record: AuditRecord } {
  const r = { ...event(n, time), type: "event", stream: "s", seq: n, prev_hash: "", hash: "" } as AuditRecord;
  return { line: canonicalJson(r), record: r };
}

function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  return waitUntil(what, condition, { timeoutMs, intervalMs: 10 });
}

function readLines(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith(".jsonl"))
    .sort()
    .flatMap((n) => readFileSync(path.join(dir, n), "utf8").split("\n").filter(Boolean));
}

describe("FileSink", () => {
  it("appends in order and rotates by size and by UTC day", async () => {
    const dir = tempDir();
    let now = new Date("2026-11-28T23:59:59Z");
    const sink = new FileSink({ dir, stream: "gw-a", maxBytes: 2_000, fsyncIntervalMs: 20, now: () => now });
    for (let n = 1; n <= 10; n += 1) {
      sink.accept(record(n).line);
      await sleep(2);
    }
    await until(() => sink.health().pending === 0, "first writes");
    now = new Date("2026-11-29T00:00:01Z");
    for (let n = 11; n <= 12; n += 1) sink.accept(record(n).line);
    await sink.close(Date.now() + 2_000);
    const names = readdirSync(dir).sort();
    assert.ok(names.filter((n) => n.startsWith("audit-2026-11-28-gw-a-")).length >= 2, `rotated by size: ${names.join(", ")}`);
    assert.deepEqual(
      names.filter((n) => n.startsWith("audit-2026-11-29-")),
      ["audit-2026-11-29-gw-a-0001.jsonl"],
    );
    const seen = readLines(dir).map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it("reports a full disk, keeps the lines, and writes them in order once space is back", async () => {
    const dir = tempDir();
    const errors: string[] = [];
    const day = new Date().toISOString().slice(0, 10);
    const first = path.join(dir, `audit-${day}-gw-full-0001.jsonl`);
    // Writes to /dev/full fail with ENOSPC: a real full disk, for this one file.
    symlinkSync("/dev/full", first);
    const sink = new FileSink({
      dir,
      stream: "gw-full",
      maxBytes: 1_000_000,
      fsyncIntervalMs: 20,
      retryMs: 50,
      onEvent: (_level, m) => errors.push(m),
    });
    sink.accept(record(1).line);
    sink.accept(record(2).line);
    await until(() => !sink.health().ok, "the failure to show");
    assert.match(sink.health().detail, /ENOSPC/);
    assert.equal(sink.health().pending, 2);
    assert.match(errors[0] ?? "", /ENOSPC/);
    // The retry reopens a new part; the disk "has space" again there.
    await until(() => sink.health().ok, "the retry to succeed");
    sink.accept(record(3).line);
    await sink.close(Date.now() + 2_000);
    rmSync(first);
    assert.deepEqual(
      readLines(dir).map((l) => (JSON.parse(l) as { seq: number }).seq),
      [1, 2, 3],
    );
    assert.match(errors.at(-1) ?? "", /written again/);
  });
  it("writes every line whole when the disk fills partway through a write (short write, then ENOSPC)", async () => {
    const dir = tempDir();
    // The kernel's behaviour on a filling disk: a write puts out what fits and returns a short
    // count; the next write fails with ENOSPC. `room` is the space left; undefined: plenty.
    let room: number | undefined;
    const openFile = async (file: string, flags: string, mode: number): Promise<FileHandle> => {
      const handle = await open(file, flags, mode);
      const write = async (buffer: Buffer, offset = 0, length = buffer.length - offset) => {
        if (room === 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        const fits = room === undefined ? length : Math.min(room, length);
        if (room !== undefined) room -= fits;
        return handle.write(buffer, offset, fits);
      };
      return new Proxy(handle, { get: (target, key) => (key === "write" ? write : Reflect.get(target, key, target)) as unknown });
    };
    const errors: string[] = [];
    const sink = new FileSink({
      dir,
      stream: "gw-short",
      maxBytes: 1_000_000,
      fsyncIntervalMs: 20,
      retryMs: 50,
      openFile,
      onEvent: (_l, m) => errors.push(m),
    });
    sink.accept(record(1).line);
    await until(() => sink.health().pending === 0, "the first line to be written");
    room = 100; // less than one line: the next write is torn
    sink.accept(record(2).line);
    sink.accept(record(3).line);
    await until(() => !sink.health().ok, "the failure to show");
    assert.equal(sink.health().pending, 2, "a short write is not taken for a written line");
    for (const line of readLines(dir)) JSON.parse(line); // no torn line left behind
    room = undefined;
    await until(() => sink.health().ok && sink.health().pending === 0, "the retry to succeed");
    await sink.close(Date.now() + 2_000);
    assert.deepEqual(
      readLines(dir).map((l) => (JSON.parse(l) as { seq: number }).seq),
      [1, 2, 3],
    );
    assert.match(errors[0] ?? "", /ENOSPC/);
  });
});

describe("VolumeSink", () => {
  function volume(
    spoolDir: string,
    put: (p: string, body: Buffer) => Promise<void>,
    overrides: Partial<ConstructorParameters<typeof VolumeSink>[0]> = {},
  ) {
    return new VolumeSink({
      volumePath: "/Volumes/main/audit/events",
      spoolDir,
      stream: "gw-v",
      batchMaxEvents: 3,
      batchIntervalMs: 30,
      spoolMaxBytes: 1_000_000,
      put,
      backoffMs: 20,
      maxBackoffMs: 50,
      ...overrides,
    });
  }

  it("delivers batches in order, one object per batch under its day, none twice, through an outage", async () => {
    const spool = tempDir();
    const objects = new Map<string, string>();
    const order: string[] = [];
    let down = true;
    const sink = volume(spool, (p, body) => {
      if (down) return Promise.reject(new Error("the workspace answered 503"));
      if (!objects.has(p)) order.push(p);
      objects.set(p, body.toString("utf8"));
      return Promise.resolve();
    });
    for (let n = 1; n <= 7; n += 1) sink.accept(record(n).line, record(n).record);
    await until(
      () => readdirSync(spool).length === 3 && sink.health().detail.includes("unreachable"),
      "three spooled batches after a failed delivery",
    );
    assert.match(sink.health().detail, /volume unreachable, 3 batches spooled/);
    assert.equal(sink.health().ok, true, "an outage within the spool bound is not a failure");
    down = false;
    await until(() => readdirSync(spool).length === 0, "the spool to drain");
    await sink.close(Date.now() + 1_000);
    assert.deepEqual(order, [
      "/Volumes/main/audit/events/date=2026-11-28/gw-v-00000001.jsonl",
      "/Volumes/main/audit/events/date=2026-11-28/gw-v-00000002.jsonl",
      "/Volumes/main/audit/events/date=2026-11-28/gw-v-00000003.jsonl",
    ]);
    const seqs = order.flatMap((p) => (objects.get(p) ?? "").split("\n").filter(Boolean)).map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7]);
  });

  it("after a restart, delivers what an earlier run left in the spool before anything new", async () => {
    const spool = tempDir();
    const first = volume(spool, () => Promise.reject(new Error("unreachable")), { stream: "gw-20261128T100000000Z-aaaaaa" });
    for (let n = 1; n <= 4; n += 1) first.accept(record(n).line, record(n).record);
    await first.close(Date.now() + 300);
    assert.deepEqual(readdirSync(spool).sort(), ["gw-20261128T100000000Z-aaaaaa-00000001.jsonl", "gw-20261128T100000000Z-aaaaaa-00000002.jsonl"]);

    const delivered: string[] = [];
    const second = volume(
      spool,
      (p) => {
        delivered.push(path.basename(p));
        return Promise.resolve();
      },
      { stream: "gw-20261128T100500000Z-bbbbbb" },
    );
    second.accept(record(1).line, record(1).record);
    await second.close(Date.now() + 1_000);
    assert.deepEqual(delivered, [
      "gw-20261128T100000000Z-aaaaaa-00000001.jsonl",
      "gw-20261128T100000000Z-aaaaaa-00000002.jsonl",
      "gw-20261128T100500000Z-bbbbbb-00000001.jsonl",
    ]);
    assert.deepEqual(readdirSync(spool), []);
  });

  it("reports itself failing once the undelivered batches pass the spool bound", async () => {
    const spool = tempDir();
    const sink = volume(spool, () => Promise.reject(new Error("the workspace answered 503")), { spoolMaxBytes: 1_500, batchMaxEvents: 1 });
    for (let n = 1; n <= 5; n += 1) sink.accept(record(n).line, record(n).record);
    await until(() => !sink.health().ok && sink.health().detail.includes("503"), "the bound to be passed after a failed delivery");
    assert.match(sink.health().detail, /exceed the spool bound of 1500 bytes; last error: the workspace answered 503/);
    await sink.close(Date.now() + 100);
  });
});

describe("AuditTrail", () => {
  it("chains every event, signs digests, and the files verify", async () => {
    const dir = tempDir();
    const { logger } = captureLogger();
    const sink = new FileSink({ dir, stream: "gw-t", maxBytes: 1_000_000, fsyncIntervalMs: 20 });
    const trail = new AuditTrail({ stream: "gw-t", sinks: [sink], hmacKey: KEY, digestIntervalMs: 60_000, onFailure: "refuse-writes", logger });
    for (let n = 1; n <= 5; n += 1) trail.record(event(n));
    trail.digest("test");
    trail.record(event(6));
    await trail.close(Date.now() + 2_000);
    const lines = readLines(dir);
    assert.equal(lines.length, 8, "six events and two digests (one asked for, one at shutdown)");
    const report = verifyChain(lines, KEY);
    assert.deepEqual(report.problems, []);
    assert.equal(report.digests, 2);
    assert.equal(trail.stats().events, 6);
    assert.equal(verifyChain(lines, Buffer.from("another-key-another-key-another-key")).ok, false, "digests are bound to the key");
  });

  it("keeps the latest events for the admin page, oldest first, within its limit", async () => {
    const { logger } = captureLogger();
    const sink = new FileSink({ dir: tempDir(), stream: "gw-r", maxBytes: 1_000_000, fsyncIntervalMs: 20 });
    const trail = new AuditTrail({
      stream: "gw-r",
      sinks: [sink],
      hmacKey: KEY,
      digestIntervalMs: 60_000,
      onFailure: "refuse-writes",
      logger,
      recentLimit: 3,
    });
    const requests = (): string[] => trail.recent().map((r) => r.request_id);
    trail.record(event(1));
    trail.record(event(2));
    assert.deepEqual(requests(), ["r-1", "r-2"]);
    for (let n = 3; n <= 7; n += 1) trail.record(event(n));
    assert.deepEqual(requests(), ["r-5", "r-6", "r-7"]);
    trail.record(event(8));
    assert.deepEqual(requests(), ["r-6", "r-7", "r-8"]);
    await trail.close(Date.now() + 2_000);
  });

  it("applies the failure policy while a durable sink fails, and says so", async () => {
    const dir = tempDir();
    const day = new Date().toISOString().slice(0, 10);
    symlinkSync("/dev/full", path.join(dir, `audit-${day}-gw-p-0001.jsonl`));
    const { logger, lines } = captureLogger();
    const sink = new FileSink({ dir, stream: "gw-p", maxBytes: 1_000_000, fsyncIntervalMs: 20, retryMs: 60_000 });
    const trail = new AuditTrail({ stream: "gw-p", sinks: [sink], hmacKey: KEY, digestIntervalMs: 60_000, onFailure: "refuse-writes", logger });
    trail.record(event(1));
    await until(() => !trail.check().ok, "the trail to notice");
    assert.equal(trail.refusal("read"), undefined, "reads go on");
    const refusal = trail.refusal("write");
    assert.equal(refusal?.code, "AUDIT_UNAVAILABLE");
    assert.equal(refusal?.status, 503);
    assert.match(refusal?.message ?? "", /cannot record this call right now, so it was not performed \(file: cannot write audit files .*ENOSPC/);
    assert.equal(trail.refusal("delete")?.code, "AUDIT_UNAVAILABLE");
    assert.match(trail.check().detail, /^audit cannot be recorded durably \(refuse-writes\)/);
    assert.ok(lines.some((l) => l["message"] === "audit trail cannot record durably; applying the failure policy"));
    await trail.close(Date.now() + 200);
  });

  it("refuses everything under refuse-all and nothing under allow", async () => {
    const failing = {
      name: "file",
      durable: true,
      accepted: 0,
      accept() {},
      health: () => ({ ok: false, detail: "disk full", pending: 1 }),
      close: () => Promise.resolve(),
    };
    const { logger } = captureLogger();
    const all = new AuditTrail({ stream: "a", sinks: [failing], hmacKey: KEY, digestIntervalMs: 60_000, onFailure: "refuse-all", logger });
    assert.equal(all.refusal("read")?.code, "AUDIT_UNAVAILABLE");
    const allow = new AuditTrail({ stream: "b", sinks: [failing], hmacKey: KEY, digestIntervalMs: 60_000, onFailure: "allow", logger });
    assert.equal(allow.refusal("delete"), undefined);
    assert.equal(allow.check().ok, false, "readiness still tells the operator");
    await all.close(Date.now() + 100);
    await allow.close(Date.now() + 100);
  });
});
