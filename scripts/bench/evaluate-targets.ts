/**
 * The targets the design must reach (issue #6), each judged from one run's results. Where
 * a target covers several rows (two read operations, two directions) the worst row counts.
 */
import type { BenchResults, LoadRow, PathName, TargetResult, TransferRow } from "./results.js";

export const TARGETS = {
  addedP50Ms: 1,
  addedP99Ms: 3,
  smallThroughputRatio: 0.95,
  fastRouteVsNginx: 0.5,
  artifactRatio: 0.9,
  artifactRssGrowthMiB: 64,
  coldStartAddedMs: 300,
  soakRssGrowthPercent: 10,
} as const;

/** Latency targets are judged at concurrency 1 (at 32, MLflow's own queueing dominates). */
export const LATENCY_CONCURRENCY = 1;
export const THROUGHPUT_CONCURRENCY = 32;

export function findRow(rows: readonly LoadRow[], like: LoadRow, path: PathName): LoadRow | undefined {
  return rows.find((r) => r.workload === like.workload && r.operation === like.operation && r.concurrency === like.concurrency && r.path === path);
}

function readRows(results: BenchResults, concurrency: number): Array<{ gateway: LoadRow; direct: LoadRow }> {
  return results.load
    .filter((r) => r.workload === "small reads" && r.concurrency === concurrency && r.path === "gateway")
    .flatMap((gateway) => {
      const direct = findRow(results.load, gateway, "direct");
      return direct === undefined ? [] : [{ gateway, direct }];
    });
}

function worst<T>(items: readonly T[], value: (item: T) => number, higherIsWorse: boolean): { item: T; value: number } | undefined {
  let best: { item: T; value: number } | undefined;
  for (const item of items) {
    const v = value(item);
    if (best === undefined || (higherIsWorse ? v > best.value : v < best.value)) best = { item, value: v };
  }
  return best;
}

const ms = (value: number): string => `${value >= 0 ? "+" : ""}${value.toFixed(2)} ms`;
const pct = (ratio: number): string => `${(100 * ratio).toFixed(1)}%`;

export function evaluateTargets(results: BenchResults): TargetResult[] {
  const targets: TargetResult[] = [];
  const latencyPairs = readRows(results, LATENCY_CONCURRENCY);
  const p50 = worst(latencyPairs, (p) => p.gateway.stats.latencyMs.p50 - p.direct.stats.latencyMs.p50, true);
  if (p50 !== undefined) {
    targets.push({
      name: "added latency p50 (small reads, c=1)",
      target: `<= +${TARGETS.addedP50Ms} ms over direct`,
      measured: `${ms(p50.value)} (${p50.item.gateway.operation}, worst)`,
      met: p50.value <= TARGETS.addedP50Ms,
    });
  }
  const p99 = worst(latencyPairs, (p) => p.gateway.stats.latencyMs.p99 - p.direct.stats.latencyMs.p99, true);
  if (p99 !== undefined) {
    targets.push({
      name: "added latency p99 (small reads, c=1)",
      target: `<= +${TARGETS.addedP99Ms} ms over direct`,
      measured: `${ms(p99.value)} (${p99.item.gateway.operation}, worst)`,
      met: p99.value <= TARGETS.addedP99Ms,
    });
  }
  const fastDirect = results.load.find((r) => r.workload === "fast route" && r.concurrency === LATENCY_CONCURRENCY && r.path === "direct");
  const fastGatewayC1 = results.load.find((r) => r.workload === "fast route" && r.concurrency === LATENCY_CONCURRENCY && r.path === "gateway");
  if (fastDirect !== undefined && fastGatewayC1 !== undefined) {
    // The same targets, measured where MLflow's own variance cannot hide the gateway's share.
    const added50 = fastGatewayC1.stats.latencyMs.p50 - fastDirect.stats.latencyMs.p50;
    const added99 = fastGatewayC1.stats.latencyMs.p99 - fastDirect.stats.latencyMs.p99;
    targets.push(
      {
        name: "added latency p50 (trivial upstream, c=1)",
        target: `<= +${TARGETS.addedP50Ms} ms over direct`,
        measured: ms(added50),
        met: added50 <= TARGETS.addedP50Ms,
      },
      {
        name: "added latency p99 (trivial upstream, c=1)",
        target: `<= +${TARGETS.addedP99Ms} ms over direct`,
        measured: ms(added99),
        met: added99 <= TARGETS.addedP99Ms,
      },
    );
  }
  const throughput = worst(readRows(results, THROUGHPUT_CONCURRENCY), (p) => p.gateway.stats.rps / p.direct.stats.rps, false);
  if (throughput !== undefined) {
    targets.push({
      name: "throughput (small reads, c=32)",
      target: `>= ${pct(TARGETS.smallThroughputRatio)} of direct`,
      measured: `${pct(throughput.value)} (${throughput.item.gateway.operation}, worst)`,
      met: throughput.value >= TARGETS.smallThroughputRatio,
    });
  }
  const fastGateway = results.load.find((r) => r.workload === "fast route" && r.concurrency !== LATENCY_CONCURRENCY && r.path === "gateway");
  const fastNginx = results.load.find((r) => r.workload === "fast route" && r.concurrency !== LATENCY_CONCURRENCY && r.path === "nginx");
  if (fastGateway !== undefined && fastNginx !== undefined) {
    const rpsRatio = fastGateway.stats.rps / fastNginx.stats.rps;
    // Requests per CPU-second: what each would serve with its core saturated.
    const capacityRatio = fastGateway.cpu && fastNginx.cpu ? fastNginx.cpu.microsPerRequest / fastGateway.cpu.microsPerRequest : rpsRatio;
    targets.push({
      name: "fast route: gateway vs nginx, one core each",
      target: `>= ${pct(TARGETS.fastRouteVsNginx)} of nginx's req/s (and of its req per CPU-second)`,
      measured: `${pct(rpsRatio)} of req/s, ${pct(capacityRatio)} of req per CPU-second`,
      met: Math.min(rpsRatio, capacityRatio) >= TARGETS.fastRouteVsNginx,
    });
  }
  for (const direction of ["download", "upload"] as const) {
    const gateway = results.transfers.find((t) => t.path === "gateway" && t.direction === direction);
    const direct = results.transfers.find((t) => t.path === "direct" && t.direction === direction);
    if (gateway === undefined || direct === undefined) continue;
    const ratio = gateway.median / direct.median;
    targets.push({
      name: `artifact ${direction} (${gateway.mib} MiB)`,
      target: `>= ${pct(TARGETS.artifactRatio)} of direct MiB/s`,
      measured: `${pct(ratio)} (${gateway.median.toFixed(0)} vs ${direct.median.toFixed(0)} MiB/s)`,
      met: ratio >= TARGETS.artifactRatio,
    });
  }
  const growth = Math.max(...results.transfers.map((t: TransferRow) => t.gatewayRssGrowthMiB ?? Number.NEGATIVE_INFINITY));
  if (Number.isFinite(growth)) {
    targets.push({
      name: "gateway RSS growth during artifact transfers",
      target: `<= ${TARGETS.artifactRssGrowthMiB} MiB`,
      measured: `+${growth.toFixed(1)} MiB (largest, either direction)`,
      met: growth <= TARGETS.artifactRssGrowthMiB,
    });
  }
  if (results.coldStart !== undefined) {
    const added = results.coldStart.medianGatewayMs - results.coldStart.medianBareMs;
    targets.push({
      name: "cold start added to bare mlflow server",
      target: `<= +${TARGETS.coldStartAddedMs} ms`,
      measured: `${added >= 0 ? "+" : ""}${added.toFixed(0)} ms (medians ${results.coldStart.medianGatewayMs.toFixed(0)} vs ${results.coldStart.medianBareMs.toFixed(0)} ms)`,
      met: added <= TARGETS.coldStartAddedMs,
    });
  }
  if (results.soak !== undefined) {
    targets.push({
      name: `gateway RSS under sustained load (${results.soak.seconds.toFixed(0)} s)`,
      target: `<= ${TARGETS.soakRssGrowthPercent}% growth`,
      measured: `${results.soak.growthPercent >= 0 ? "+" : ""}${results.soak.growthPercent.toFixed(1)}% (${results.soak.rssStartMiB.toFixed(0)} -> ${results.soak.rssEndMiB.toFixed(0)} MiB)`,
      met: results.soak.growthPercent <= TARGETS.soakRssGrowthPercent,
    });
  }
  return targets;
}
