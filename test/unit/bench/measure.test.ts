import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BenchContext } from "../../../scripts/bench/bench-context.js";
import type { LoadStats } from "../../../scripts/bench/run-wrk.js";
import { measure } from "../../../scripts/bench/workloads/small-calls.js";

function context(runSeconds: number): { ctx: BenchContext; notes: string[] } {
  const notes: string[] = [];
  const ctx = {
    size: { runSeconds },
    progress: () => undefined,
    note: (line: string) => void notes.push(line),
  } as unknown as BenchContext;
  return { ctx, notes };
}

function stats(requests: number, seconds: number): LoadStats {
  return {
    requests,
    seconds,
    rps: requests / seconds,
    errors: 0,
    failedResponses: 0,
    latencyMs: { p50: 1, p90: 1, p99: 1, p999: 1, mean: 1, max: 1 },
  };
}

describe("measure (the benchmark's load rows)", () => {
  it("keeps a run in which every connection completed a request, without retrying", async () => {
    const { ctx, notes } = context(1);
    const asked: number[] = [];
    const result = await measure(ctx, "LogBatch c=16 direct", 16, (seconds) => {
      asked.push(seconds);
      return Promise.resolve(stats(16, seconds));
    });
    assert.deepEqual(asked, [1]);
    assert.equal(result.requests, 16);
    assert.deepEqual(notes, []);
  });

  it("measures again for longer, after clearing the backlog, when too few requests completed", async () => {
    const { ctx, notes } = context(1);
    const events: string[] = [];
    const completed = [0, 40];
    const result = await measure(
      ctx,
      "LogBatch c=16 direct",
      16,
      (seconds) => {
        events.push(`run ${seconds} s`);
        return Promise.resolve(stats(completed.shift() ?? 0, seconds));
      },
      () => {
        events.push("drain");
        return Promise.resolve();
      },
    );
    assert.deepEqual(events, ["run 1 s", "drain", "run 4 s"]);
    assert.equal(result.requests, 40, "the longer run's figures are reported");
    assert.equal(result.seconds, 4);
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? "", /LogBatch c=16 direct: 0 request\(s\) completed in 1 s .* measured again for 4 s/);
  });

  it("gives up after two longer runs and returns the last one, so zero requests still fails the bench", async () => {
    const { ctx, notes } = context(1);
    const asked: number[] = [];
    const result = await measure(ctx, "SearchRuns c=32 gateway", 32, (seconds) => {
      asked.push(seconds);
      return Promise.resolve(stats(0, seconds));
    });
    assert.deepEqual(asked, [1, 4, 16]);
    assert.equal(result.requests, 0);
    assert.equal(notes.length, 2);
  });
});
