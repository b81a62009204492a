/**
 * Workloads 1 and 2: small reads (GetExperiment, SearchRuns over a few runs) at
 * concurrency 1 and 32, and small writes (LogBatch with 50 metrics) at concurrency 16,
 * each against the same child straight, through the gateway and through nginx. The paths
 * take turns for each operation and concurrency, so drift on a shared machine hits all.
 */
import type { BenchContext } from "../bench-context.js";
import type { Fixtures } from "../mlflow-fixtures.js";
import type { LoadRow, Target } from "../results.js";
import { type LoadStats, luaString, runWrk, type ScriptedRequest, type StaticRequest } from "../run-wrk.js";

export const READ_CONCURRENCIES = [1, 32] as const;
export const WRITE_CONCURRENCY = 16;
const METRICS_PER_BATCH = 50;
/** Each wrk process numbers its steps from its own base, so no two batches collide. */
const STEP_BLOCK = 10_000_000;
let stepBlocks = 0;

function readRequests(ctx: BenchContext, fixtures: Fixtures): Array<{ operation: string; request: StaticRequest }> {
  return [
    {
      operation: "GetExperiment",
      request: { method: "GET", path: `/api/2.0/mlflow/experiments/get?experiment_id=${fixtures.readExperimentId}`, headers: { ...ctx.authHeaders } },
    },
    {
      operation: "SearchRuns",
      request: {
        method: "POST",
        path: "/api/2.0/mlflow/runs/search",
        headers: { ...ctx.authHeaders, "Content-Type": "application/json" },
        body: JSON.stringify({ experiment_ids: [fixtures.readExperimentId], max_results: 100 }),
      },
    },
  ];
}

/** LogBatch with 50 metrics, round-robin over the path's runs, every step new. */
export function logBatchRequest(ctx: BenchContext, runIds: readonly string[]): ScriptedRequest {
  stepBlocks += 1;
  const headers = Object.entries({ ...ctx.authHeaders, "Content-Type": "application/json" })
    .map(([name, value]) => `[ ${luaString(name)} ] = ${luaString(value)}`)
    .join(", ");
  return {
    lua: `
local runs = { ${runIds.map((id) => luaString(id)).join(", ")} }
local headers = { ${headers} }
local counter = ${stepBlocks * STEP_BLOCK}
request = function()
  counter = counter + 1
  local run = runs[(counter % #runs) + 1]
  local metrics = {}
  for i = 1, ${METRICS_PER_BATCH} do
    metrics[i] = string.format('{"key":"metric_%d","value":%d.25,"timestamp":%.0f,"step":%.0f}', i, i, 1700000000000 + counter, counter)
  end
  local body = '{"run_id":"' .. run .. '","metrics":[' .. table.concat(metrics, ",") .. ']}'
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-batch", headers, body)
end
`,
  };
}

/**
 * One load run, then a pause: when wrk stops, MLflow may still be working through queued
 * requests, which would slow the next path's run.
 */
async function load(
  ctx: BenchContext,
  target: Target,
  request: StaticRequest | ScriptedRequest,
  connections: number,
  seconds: number,
): Promise<LoadStats> {
  const stats = await runWrk(ctx.registry, ctx.tools, { baseUrl: target.url, request, connections, seconds, scriptDir: ctx.workDir });
  await new Promise((resolve) => setTimeout(resolve, ctx.size.settleSeconds * 1000));
  return stats;
}

/** One request on each path first: a setup mistake (a 401, a 404) fails the run here, loudly. */
async function prime(target: Target, request: StaticRequest): Promise<void> {
  const response = await fetch(`${target.url}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${request.method} ${request.path} via ${target.name}: ${response.status} ${text.slice(0, 300)}`);
}

export async function runSmallReads(ctx: BenchContext, targets: readonly Target[], fixtures: Fixtures): Promise<LoadRow[]> {
  const rows: LoadRow[] = [];
  for (const { operation, request } of readRequests(ctx, fixtures)) {
    for (const target of targets) {
      await prime(target, request);
      if (ctx.size.warmupSeconds > 0) {
        await load(ctx, target, request, 32, ctx.size.warmupSeconds);
      }
    }
    for (const concurrency of READ_CONCURRENCIES) {
      for (const target of targets) {
        const stats = await load(ctx, target, request, concurrency, ctx.size.runSeconds);
        ctx.progress(
          `${operation} c=${concurrency} ${target.name}: ${stats.rps.toFixed(0)} req/s, p50 ${stats.latencyMs.p50.toFixed(2)} ms, p99 ${stats.latencyMs.p99.toFixed(2)} ms`,
        );
        rows.push({ workload: "small reads", operation, concurrency, path: target.name, stats });
      }
    }
  }
  return rows;
}

/** A write backlog is drained once a read straight to the child answers this fast twice in a row. */
const DRAINED_MS = 500;
const DRAIN_TIMEOUT_MS = 60_000;

/**
 * Waits until MLflow has worked through the LogBatch calls still queued when wrk stopped
 * (SQLite serialises them; a backlog would stall the next path's run).
 */
async function drainWrites(ctx: BenchContext, childUrl: string, runId: string): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let quick = 0;
  while (quick < 2 && Date.now() < deadline) {
    const begin = Date.now();
    await fetch(`${childUrl}/api/2.0/mlflow/runs/get?run_id=${runId}`).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    );
    quick = Date.now() - begin < DRAINED_MS ? quick + 1 : 0;
  }
  if (quick < 2) ctx.note(`MLflow was still busy with queued writes ${DRAIN_TIMEOUT_MS / 1000} s after a LogBatch run`);
}

/** One LogBatch through the path, checked: proves the path writes before it is measured. */
async function primeWrite(ctx: BenchContext, target: Target, runId: string): Promise<void> {
  const metrics = Array.from({ length: METRICS_PER_BATCH }, (_, i) => ({ key: `metric_${i + 1}`, value: i, timestamp: Date.now(), step: 0 }));
  const response = await fetch(`${target.url}/api/2.0/mlflow/runs/log-batch`, {
    method: "POST",
    headers: { ...ctx.authHeaders, "Content-Type": "application/json" },
    body: JSON.stringify({ run_id: runId, metrics }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`LogBatch via ${target.name}: ${response.status} ${text.slice(0, 300)}`);
}

/**
 * No warm-up load here (workload 1 has warmed every path, and queued writes would land in
 * the next measured run): each path is drained, primed with one checked call, measured,
 * and drained again.
 */
export async function runSmallWrites(ctx: BenchContext, targets: readonly Target[], fixtures: Fixtures): Promise<LoadRow[]> {
  const rows: LoadRow[] = [];
  const childUrl = targets.find((t) => t.name === "direct")?.url;
  for (const target of targets) {
    const runIds = fixtures.writeRunIds[target.name] ?? [];
    const firstRun = runIds[0];
    if (childUrl === undefined || firstRun === undefined) throw new Error("the write workload needs the direct path and a run per path");
    await drainWrites(ctx, childUrl, firstRun);
    await primeWrite(ctx, target, firstRun);
    const stats = await load(ctx, target, logBatchRequest(ctx, runIds), WRITE_CONCURRENCY, ctx.size.runSeconds);
    await drainWrites(ctx, childUrl, firstRun);
    ctx.progress(
      `LogBatch(50) c=${WRITE_CONCURRENCY} ${target.name}: ${stats.rps.toFixed(0)} req/s, p50 ${stats.latencyMs.p50.toFixed(2)} ms, p99 ${stats.latencyMs.p99.toFixed(2)} ms`,
    );
    rows.push({ workload: "small writes", operation: "LogBatch (50 metrics)", concurrency: WRITE_CONCURRENCY, path: target.name, stats });
  }
  return rows;
}
