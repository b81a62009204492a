/**
 * Renders one run's results as markdown: a few lines naming the machine, the versions and
 * the gateway's stages, then one table (a row per measured figure, the three paths side
 * by side, the ratios, and each target met or not), then the notes.
 */
import { findRow, LATENCY_CONCURRENCY, TARGETS, THROUGHPUT_CONCURRENCY } from "./evaluate-targets.js";
import type { BenchResults, LoadRow, PathName, TransferRow } from "./results.js";
import type { LoadStats } from "./run-wrk.js";

interface Line {
  workload: string;
  metric: string;
  cells: Partial<Record<PathName, string>>;
  vsDirect?: string;
  vsNginx?: string;
  target?: string;
}

const verdict = (met: boolean): string => (met ? "met" : "**not met**");
const num = (value: number, digits = 0): string => value.toFixed(digits);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
const diffMs = (a: number, b: number): string => `${a - b >= 0 ? "+" : ""}${(a - b).toFixed(2)} ms (${ratio(a, b)})`;

function withErrors(stats: LoadStats): string {
  const bad = stats.errors + stats.failedResponses;
  return bad === 0 ? num(stats.rps) : `${num(stats.rps)} (${bad} errors)`;
}

function loadLines(results: BenchResults): Line[] {
  const lines: Line[] = [];
  const groups = results.load.filter((r) => r.path === "gateway");
  for (const gateway of groups) {
    const direct = findRow(results.load, gateway, "direct");
    const nginx = findRow(results.load, gateway, "nginx");
    const rows: Partial<Record<PathName, LoadRow>> = { direct, gateway, nginx };
    const workload = `${gateway.workload}: ${gateway.operation}, c=${gateway.concurrency}`;
    const line = (metric: string, value: (s: LoadStats) => number, digits: number, compare: "ratio" | "diff"): Line => {
      const cells: Partial<Record<PathName, string>> = {};
      for (const [name, row] of Object.entries(rows) as Array<[PathName, LoadRow | undefined]>) {
        if (row !== undefined) cells[name] = metric === "req/s" ? withErrors(row.stats) : num(value(row.stats), digits);
      }
      const g = value(gateway.stats);
      const vs = (other: LoadRow | undefined): string | undefined =>
        other === undefined ? undefined : compare === "ratio" ? ratio(g, value(other.stats)) : diffMs(g, value(other.stats));
      return { workload, metric, cells, vsDirect: vs(direct), vsNginx: vs(nginx) };
    };
    const rps = line("req/s", (s) => s.rps, 0, "ratio");
    if (gateway.workload === "small reads" && gateway.concurrency === THROUGHPUT_CONCURRENCY && direct !== undefined) {
      rps.target = `>= ${TARGETS.smallThroughputRatio * 100}% of direct: ${verdict(gateway.stats.rps / direct.stats.rps >= TARGETS.smallThroughputRatio)}`;
    }
    if (gateway.workload === "fast route" && gateway.concurrency !== LATENCY_CONCURRENCY && nginx !== undefined) {
      rps.target = `>= ${TARGETS.fastRouteVsNginx * 100}% of nginx: ${verdict(gateway.stats.rps / nginx.stats.rps >= TARGETS.fastRouteVsNginx)}`;
    }
    lines.push(rps);
    if (gateway.workload === "fast route" && gateway.cpu !== undefined) {
      const cpu: Line = { workload, metric: "CPU µs/request", cells: {} };
      const used: Line = { workload, metric: "CPU used (cores)", cells: {} };
      for (const [name, row] of Object.entries(rows) as Array<[PathName, LoadRow | undefined]>) {
        if (row?.cpu === undefined) continue;
        cpu.cells[name] = num(row.cpu.microsPerRequest, 1);
        used.cells[name] = num(row.cpu.utilisation, 2);
      }
      if (gateway.cpu !== undefined && nginx?.cpu !== undefined) {
        cpu.vsNginx = ratio(gateway.cpu.microsPerRequest, nginx.cpu.microsPerRequest);
        const capacity = nginx.cpu.microsPerRequest / gateway.cpu.microsPerRequest;
        cpu.target = `req per CPU-s >= ${TARGETS.fastRouteVsNginx * 100}% of nginx's (${(capacity * 100).toFixed(0)}%): ${verdict(capacity >= TARGETS.fastRouteVsNginx)}`;
      }
      lines.push(cpu, used);
      continue;
    }
    const p50 = line("p50 ms", (s) => s.latencyMs.p50, 2, "diff");
    const p99 = line("p99 ms", (s) => s.latencyMs.p99, 2, "diff");
    if (gateway.workload !== "small writes" && gateway.concurrency === LATENCY_CONCURRENCY && direct !== undefined) {
      const added50 = gateway.stats.latencyMs.p50 - direct.stats.latencyMs.p50;
      const added99 = gateway.stats.latencyMs.p99 - direct.stats.latencyMs.p99;
      p50.target = `<= +${TARGETS.addedP50Ms} ms: ${verdict(added50 <= TARGETS.addedP50Ms)}`;
      p99.target = `<= +${TARGETS.addedP99Ms} ms: ${verdict(added99 <= TARGETS.addedP99Ms)}`;
    }
    lines.push(
      p50,
      p99,
      line("p99.9 ms", (s) => s.latencyMs.p999, 2, "diff"),
    );
  }
  return lines;
}

function transferLines(results: BenchResults): Line[] {
  const lines: Line[] = [];
  for (const direction of ["download", "upload"] as const) {
    const rows = results.transfers.filter((t) => t.direction === direction);
    const of = (name: PathName): TransferRow | undefined => rows.find((t) => t.path === name);
    const gateway = of("gateway");
    if (gateway === undefined) continue;
    const direct = of("direct");
    const nginx = of("nginx");
    const cells: Partial<Record<PathName, string>> = {};
    for (const row of rows) cells[row.path] = num(row.median);
    const line: Line = {
      workload: `artifact ${direction}, ${gateway.mib} MiB`,
      metric: "MiB/s",
      cells,
      ...(direct ? { vsDirect: ratio(gateway.median, direct.median) } : {}),
      ...(nginx ? { vsNginx: ratio(gateway.median, nginx.median) } : {}),
    };
    if (direct !== undefined)
      line.target = `>= ${TARGETS.artifactRatio * 100}% of direct: ${verdict(gateway.median / direct.median >= TARGETS.artifactRatio)}`;
    lines.push(line);
    if (gateway.proxyCpuSecondsPerGiB !== undefined) {
      const cpu: Line = { workload: line.workload, metric: "proxy CPU s per GiB", cells: {} };
      for (const row of rows) if (row.proxyCpuSecondsPerGiB !== undefined) cpu.cells[row.path] = num(row.proxyCpuSecondsPerGiB, 2);
      if (nginx?.proxyCpuSecondsPerGiB !== undefined) cpu.vsNginx = ratio(gateway.proxyCpuSecondsPerGiB, nginx.proxyCpuSecondsPerGiB);
      lines.push(cpu);
    }
    if (gateway.gatewayRssGrowthMiB !== undefined) {
      lines.push({
        workload: `artifact ${direction}, ${gateway.mib} MiB`,
        metric: "gateway RSS growth MiB",
        cells: { gateway: num(gateway.gatewayRssGrowthMiB, 1) },
        target: `<= ${TARGETS.artifactRssGrowthMiB} MiB: ${verdict(gateway.gatewayRssGrowthMiB <= TARGETS.artifactRssGrowthMiB)}`,
      });
    }
  }
  return lines;
}

function otherLines(results: BenchResults): Line[] {
  const lines: Line[] = [];
  const cold = results.coldStart;
  if (cold !== undefined) {
    const added = cold.medianGatewayMs - cold.medianBareMs;
    lines.push({
      workload: "cold start (bare mlflow server vs gateway + child)",
      metric: "ms to ready (median)",
      cells: { direct: num(cold.medianBareMs), gateway: num(cold.medianGatewayMs) },
      vsDirect: `${added >= 0 ? "+" : ""}${num(added)} ms (${ratio(cold.medianGatewayMs, cold.medianBareMs)})`,
      target: `<= +${TARGETS.coldStartAddedMs} ms: ${verdict(added <= TARGETS.coldStartAddedMs)}`,
    });
    lines.push({
      workload: "cold start (bare mlflow server vs gateway + child)",
      metric: "gateway: own start, then child start (ms, medians)",
      cells: { gateway: `${num(cold.medianBeforeChildMs)}, then ${num(cold.medianChildStartMs)}` },
    });
  }
  const reference = results.nodeReference;
  const fastGateway = results.load.find((r) => r.workload === "fast route" && r.path === "gateway" && r.concurrency !== LATENCY_CONCURRENCY);
  if (reference !== undefined && fastGateway?.cpu !== undefined) {
    lines.push({
      workload: `fast route: GetExperiment (trivial upstream), c=${fastGateway.concurrency}`,
      metric: "reference: a bare node:http proxy, same core (req/s, CPU µs/request)",
      cells: { gateway: `${num(reference.rps)}, ${num(reference.microsPerRequest, 1)}` },
      target: `the gateway reaches ${num((100 * fastGateway.stats.rps) / reference.rps)}% of its req/s, ${num((100 * reference.microsPerRequest) / fastGateway.cpu.microsPerRequest)}% of its req per CPU-s (informational)`,
    });
  }
  const soak = results.soak;
  if (soak !== undefined) {
    lines.push({
      workload: `sustained load, ${num(soak.seconds)} s at ${num(soak.rps)} req/s (fast route)`,
      metric: "gateway RSS MiB, start -> end",
      cells: {
        gateway: `${num(soak.rssStartMiB, 1)} -> ${num(soak.rssEndMiB, 1)} (${soak.growthPercent >= 0 ? "+" : ""}${num(soak.growthPercent, 1)}%)`,
      },
      target: `<= ${TARGETS.soakRssGrowthPercent}% growth: ${verdict(soak.growthPercent <= TARGETS.soakRssGrowthPercent)}`,
    });
  }
  const audit = results.audit;
  if (audit.on && audit.eventsPerSecond !== undefined) {
    lines.push(
      {
        workload: "audit (file sink) at the fast route's rate",
        metric: "events/s recorded",
        cells: { gateway: `${num(audit.eventsPerSecond)} (of ${num(audit.requestsPerSecond ?? 0)} req/s)` },
      },
      {
        workload: "audit (file sink) at the fast route's rate",
        metric: "queue: max, last, trend",
        cells: { gateway: `${num(audit.queueMax ?? 0)}, ${num(audit.queueLast ?? 0)}, ${num(audit.queueSlopePerSecond ?? 0, 1)}/s` },
        target: `queue does not grow: ${verdict(audit.queueGrows !== true)}`,
      },
    );
  } else {
    lines.push({ workload: "audit", metric: "events/s", cells: { gateway: `n/a (${audit.detail})` } });
  }
  return lines;
}

const escapeCell = (text: string | undefined): string => (text ?? "").replace(/\|/g, "\\|");

export function renderTable(results: BenchResults): string {
  const header = ["workload", "metric", "direct", "gateway", "nginx", "gateway / direct", "gateway / nginx", "target"];
  const lines = [...loadLines(results), ...transferLines(results), ...otherLines(results)];
  const rows = lines.map((l) =>
    [l.workload, l.metric, l.cells.direct, l.cells.gateway, l.cells.nginx, l.vsDirect, l.vsNginx, l.target].map(escapeCell),
  );
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

export function renderReport(results: BenchResults): string {
  const env = results.environment;
  const met = results.targets.filter((t) => t.met).length;
  const missed = results.targets.filter((t) => !t.met).map((t) => t.name);
  const out = [
    `## Gateway benchmark, size \`${results.size}\` (${results.startedAt}, ${results.durationSeconds.toFixed(0)} s)`,
    "",
    `- Command: \`${results.command}\``,
    `- Machine: ${env.cores} cores (${env.cpuModel}), ${env.memoryGiB.toFixed(0)} GiB, ${env.os}; other processes used ${env.otherProcessesCores.toFixed(2)} cores on average during the run (load average ${env.loadAverageAtStart.toFixed(2)} at the start)`,
    `- Versions: Node ${env.node}, gateway ${env.gateway}, MLflow ${env.mlflow}, nginx ${env.nginx}, wrk ${env.wrk}, curl ${env.curl}`,
    `- Gateway stages: identity ${results.stages.identity}; policy ${results.stages.policy}; audit ${results.stages.audit}`,
    "- Rows: direct = client straight to the child `mlflow server`; gateway = through the gateway to the same child; nginx = nginx (1 worker, plain reverse proxy) to the same child. Latencies in ms, ratios gateway / other.",
    `- Targets: ${met} of ${results.targets.length} met${missed.length > 0 ? `; not met: ${missed.join("; ")}` : ""}${results.size === "smoke" ? " (smoke size: seconds-long runs and a small artifact prove the script works; its figures are not meaningful)" : ""}`,
    "",
    renderTable(results),
  ];
  if (results.policy !== undefined) out.push("", renderPolicy(results.policy));
  if (results.notes.length > 0) out.push("", "Notes:", ...results.notes.map((n) => `- ${n}`));
  return `${out.join("\n")}\n`;
}

/** The policy stage side by side: the built-in policy and a realistic team policy, per decision. */
function renderPolicy(policy: NonNullable<BenchResults["policy"]>): string {
  const rows = policy.rows.map((r) => `| ${r.operation} | ${r.builtInMicros.toFixed(1)} | ${r.realisticMicros.toFixed(1)} |`);
  return [
    `Policy stage, per decision (in-process, object facts and groups cached): built-in policy vs a team policy of ${policy.grants} grants over ${policy.groups} groups. The first decision on a run not yet seen took ${policy.firstLookupMs.toFixed(1)} ms (one lookup in the child).`,
    "",
    "| operation | built-in µs | team policy µs |",
    "|---|---:|---:|",
    ...rows,
  ].join("\n");
}
