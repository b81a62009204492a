import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runPythonJson } from "../support/python.js";
import { type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";

interface Roundtrip {
  experiment_name: string;
  status: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  metric_history: Array<[number, number]>;
  artifacts: string[];
  model_artifacts: string[];
  written: { small: string; large: string; large_bytes: number };
  read: { small: string; large: string; large_bytes: number };
}

describe("the real MLflow Python client through the gateway", () => {
  let gateway: SharedGateway;
  before(async () => {
    gateway = await useSharedGateway();
  });
  after(async () => {
    await gateway.release();
  });

  it("writes an experiment, a run, params, metrics, tags, a small and a 50 MB artifact, and reads them all back", async () => {
    const name = `roundtrip-${Date.now()}`;
    const result = await runPythonJson<Roundtrip>("client_roundtrip.py", [gateway.url, name, "50"]);
    assert.equal(result.experiment_name, name);
    assert.equal(result.status, "FINISHED");
    assert.deepEqual(result.params, { lr: "0.01", layers: "3" });
    assert.deepEqual(result.tags, { team: "ml-platform", purpose: "gateway-test" });
    assert.deepEqual(
      result.metric_history,
      [0, 1, 2, 3, 4].map((step) => [step, 1 / (step + 1)]),
    );
    assert.deepEqual(result.artifacts, ["model", "notes.txt"]);
    assert.deepEqual(result.model_artifacts, ["model/weights.bin"]);
    assert.equal(result.written.large_bytes, 50 * 1024 * 1024);
    assert.deepEqual(result.read, result.written, "artifact bytes are identical after the round trip");
  });
});

interface ParallelLogBatch {
  calls: Array<{ seconds: number; error: string | null }>;
  m0_values_per_run: number[];
}

describe("parallel writers through the gateway (local mode, SQLite)", () => {
  let gateway: SharedGateway;
  before(async () => {
    gateway = await useSharedGateway();
  });
  after(async () => {
    await gateway.release();
  });

  it("40 client threads logging batches at once all succeed promptly: the child's connection pool cannot deadlock", async () => {
    // MLflow's LogBatch holds one pooled database connection and takes a second for its
    // metrics; with SQLAlchemy's default pool (15) a burst of 15+ on one worker waited
    // out the pool's 30 s timeout and failed (docs/benchmark.md). No retries here, so a
    // stalled or failed call shows as such.
    const threads = 40;
    const batches = 3;
    const result = await runPythonJson<ParallelLogBatch>(
      "parallel_log_batch.py",
      [gateway.url, `parallel-${Date.now()}`, String(threads), String(batches)],
      {
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
      },
    );
    assert.equal(result.calls.length, threads * batches);
    const failures = result.calls.flatMap((c) => (c.error === null ? [] : [c.error]));
    assert.equal(failures.length, 0, `${failures.length} of ${result.calls.length} LogBatch calls failed; the first: ${failures[0]}`);
    const slowest = Math.max(...result.calls.map((c) => c.seconds));
    // Under SQLite's write lock a call may wait seconds on a slow machine; a deadlocked one waits the pool's full 30 s.
    assert.ok(slowest < 25, `the slowest LogBatch took ${slowest.toFixed(1)} s (a pool deadlock lasts 30 s)`);
    assert.deepEqual(result.m0_values_per_run, Array<number>(threads).fill(batches), "every batch is stored");
  });
});
