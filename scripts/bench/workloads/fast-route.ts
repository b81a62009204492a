/**
 * Workload 3 (a fast upstream route at concurrency 64, so the proxies' own cost is not
 * hidden behind MLflow's Python), then the soak (the same load sustained: gateway RSS) and
 * workload 6 (audit events per second at that rate, and whether the audit queue grows).
 *
 * The route is an MLflow API read (GetExperiment) answered by a trivial upstream with a
 * canned body, not MLflow's /version: the gateway treats /version as a health probe (no
 * policy decision, no audit event), so it would hide exactly the stages users pay for.
 *
 * Core budget: the proxy under test (the gateway's event loop and all its threads, or one
 * nginx worker) gets core 1 to itself; wrk and the trivial upstream (nginx answering from
 * memory) share core 0. The gateway's "mlflow" child is that upstream, started through a
 * wrapper script given as GATEWAY_MLFLOW_BIN, so the gateway runs its normal supervisor.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import type { BenchContext } from "../bench-context.js";
import { findFreePort } from "../../../src/supervisor/free-port.js";
import { cpuSeconds, processTree, sampleRss } from "../proc-stats.js";
import { scrapeMetric } from "../prometheus.js";
import type { AuditResult, LoadRow, NodeReference, SoakResult, Target } from "../results.js";
import { median } from "../results.js";
import { runWrk, type StaticRequest } from "../run-wrk.js";
import { AUDIT_EVENTS_METRIC, AUDIT_QUEUE_METRIC, childPidFromLog, type GatewayHandle, startGateway } from "../start-gateway.js";
import { prepareNginx, startNginx } from "../start-nginx.js";
import { startBareNodeProxy } from "../start-bare-node-proxy.js";

export const FAST_CONCURRENCY = 64;
/** The core the proxy under test gets; wrk and the upstream share the other one. */
const PROXY_CPU = 1;
const LOAD_CPU = 0;
const ALL_CPUS = `0-${availableParallelism() - 1}`;
/** Soak samples: RSS and the audit metrics, once a second. */
const SOAK_SAMPLE_MS = 1_000;
/** The queue "grows" when its trend exceeds this share of the event rate. */
const QUEUE_GROWTH_SHARE = 0.01;

export interface FastRouteResults {
  rows: LoadRow[];
  soak: SoakResult;
  audit: AuditResult;
  nodeReference: NodeReference;
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** What MLflow answers to GetExperiment for its Default experiment (about 200 bytes). */
const CANNED_EXPERIMENT = JSON.stringify({
  experiment: { experiment_id: "0", name: "Default", artifact_location: "mlflow-artifacts:/0", lifecycle_stage: "active", tags: [] },
});
export const FAST_ROUTE_PATH = "/api/2.0/mlflow/experiments/get?experiment_id=0";

/** The wrapper the gateway runs as its "mlflow": nginx answering from memory, pinned to the load core. */
function writeUpstreamWrapper(ctx: BenchContext, dir: string, port: number): string {
  const { file, args } = prepareNginx(ctx.tools.nginx, { dir, port, role: { kind: "static", json: CANNED_EXPERIMENT } });
  const wrapper = path.join(dir, "fast-upstream.sh");
  const command = [ctx.tools.taskset, "-c", String(LOAD_CPU), file, ...args].map(shellQuote).join(" ");
  writeFileSync(wrapper, `#!/bin/sh\n# The gateway passes mlflow's arguments; the trivial upstream needs none.\nexec ${command}\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** Least-squares slope of y over t. */
function slope(points: ReadonlyArray<{ t: number; y: number }>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

export async function runFastRoute(ctx: BenchContext, keyServerHost: string): Promise<FastRouteResults> {
  const dir = path.join(ctx.workDir, "fast-route");
  const upstreamDir = path.join(dir, "upstream");
  mkdirSync(upstreamDir, { recursive: true });
  const upstreamPort = await findFreePort();
  const wrapper = writeUpstreamWrapper(ctx, upstreamDir, upstreamPort);

  ctx.progress("fast route: starting the gateway (core 1) with a trivial upstream (core 0), and nginx (core 1)");
  const gateway: GatewayHandle = await startGateway(ctx.registry, {
    name: "gateway (fast route)",
    port: await findFreePort(),
    childPort: upstreamPort,
    dataDir: path.join(dir, "gateway-data"),
    logFile: path.join(dir, "gateway.log"),
    keyServerHost,
    auditDir: path.join(dir, "audit"),
    mlflowBin: wrapper,
    cpu: PROXY_CPU,
    taskset: ctx.tools.taskset,
    nodeArgs: ctx.gatewayNodeArgs,
    entry: ctx.gatewayEntry,
    // The trivial upstream ignores it.
    mlflowWorkers: 1,
  });
  const upstreamPid = childPidFromLog(gateway.setup.logFile);
  if (upstreamPid === undefined) throw new Error("the fast-route gateway did not log its child's pid");
  const nginxDir = path.join(dir, "nginx");
  const nginx = await startNginx(
    ctx.registry,
    ctx.tools,
    "nginx (fast route)",
    { dir: nginxDir, port: await findFreePort(), role: { kind: "proxy", upstreamPort, hostHeader: `127.0.0.1:${upstreamPort}` } },
    PROXY_CPU,
  );

  const targets: Array<Target & { pids: () => number[] }> = [
    { name: "direct", url: `http://127.0.0.1:${upstreamPort}`, pids: () => processTree(upstreamPid) },
    { name: "gateway", url: gateway.url, pids: () => [gateway.process.pid] },
    { name: "nginx", url: nginx.url, pids: () => processTree(nginx.process.pid) },
  ];
  const request: StaticRequest = { method: "GET", path: FAST_ROUTE_PATH, headers: { ...ctx.authHeaders } };
  const load = (baseUrl: string, seconds: number, connections = FAST_CONCURRENCY, cpu: number | undefined = LOAD_CPU) =>
    runWrk(ctx.registry, ctx.tools, { baseUrl, request, connections, seconds, cpu, scriptDir: ctx.workDir });
  const pin = (pids: readonly number[], cpus: string): void => {
    for (const pid of pids) execFileSync(ctx.tools.taskset, ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
  };

  for (const target of targets) {
    const response = await fetch(`${target.url}${FAST_ROUTE_PATH}`, { headers: ctx.authHeaders });
    if (response.status !== 200) throw new Error(`GetExperiment via ${target.name}: ${response.status} ${await response.text()}`);
    if (ctx.size.warmupSeconds > 0) await load(target.url, ctx.size.warmupSeconds);
  }

  const rows: LoadRow[] = [];
  let auditDuringRun: { events: number; seconds: number } | undefined;
  for (const target of targets) {
    const pids = target.pids();
    const events0 = target.name === "gateway" ? await scrapeMetric(gateway.url, AUDIT_EVENTS_METRIC) : undefined;
    const cpu0 = cpuSeconds(pids);
    const wall0 = Date.now();
    const stats = await load(target.url, ctx.size.fastRouteSeconds);
    const wall = (Date.now() - wall0) / 1000;
    const cpu = cpuSeconds(pids) - cpu0;
    if (events0 !== undefined) {
      const events1 = (await scrapeMetric(gateway.url, AUDIT_EVENTS_METRIC)) ?? events0;
      auditDuringRun = { events: events1 - events0, seconds: wall };
    }
    const microsPerRequest = (cpu / stats.requests) * 1e6;
    ctx.progress(
      `fast GetExperiment c=${FAST_CONCURRENCY} ${target.name}: ${stats.rps.toFixed(0)} req/s, ${microsPerRequest.toFixed(0)} µs CPU/request, ${(100 * (cpu / wall)).toFixed(0)}% of a core`,
    );
    rows.push({
      workload: "fast route",
      operation: "GetExperiment (trivial upstream)",
      concurrency: FAST_CONCURRENCY,
      path: target.name,
      stats,
      cpu: { microsPerRequest, utilisation: cpu / wall },
    });
  }
  const nodeReference = await measureBareNodeProxy(ctx, upstreamPort, dir, load);

  // One request at a time: the latency each proxy adds by itself, without MLflow's variance.
  // Unpinned, as a deployment runs: on one shared core the gateway's helper threads (GC,
  // libuv) would preempt its event loop for whole scheduler slices.
  for (const target of targets) pin(target.pids(), ALL_CPUS);
  for (const target of targets) {
    const stats = await load(target.url, ctx.size.fastRouteSeconds, 1, undefined);
    ctx.progress(`fast GetExperiment c=1 ${target.name}: p50 ${stats.latencyMs.p50.toFixed(3)} ms, p99 ${stats.latencyMs.p99.toFixed(3)} ms`);
    rows.push({ workload: "fast route", operation: "GetExperiment (trivial upstream)", concurrency: 1, path: target.name, stats });
  }
  await ctx.registry.stop(nginx.process);
  pin([gateway.process.pid], String(PROXY_CPU));
  pin(processTree(upstreamPid), String(LOAD_CPU));

  // Soak + audit: the gateway at workload 3's rate, sustained.
  ctx.progress(
    `soak: ${ctx.size.soakSeconds} s of the fast route at c=${FAST_CONCURRENCY} through the gateway (RSS and audit queue sampled every second)`,
  );
  const rss = sampleRss(gateway.process.pid, SOAK_SAMPLE_MS);
  const queue: Array<{ t: number; y: number }> = [];
  const begin = Date.now();
  const events0 = gateway.audit.on ? await scrapeMetric(gateway.url, AUDIT_EVENTS_METRIC) : undefined;
  const sampler = setInterval(() => {
    if (!gateway.audit.on) return;
    void scrapeMetric(gateway.url, AUDIT_QUEUE_METRIC).then(
      (value) => value !== undefined && queue.push({ t: (Date.now() - begin) / 1000, y: value }),
      () => undefined,
    );
  }, SOAK_SAMPLE_MS);
  const soakStats = await load(gateway.url, ctx.size.soakSeconds);
  clearInterval(sampler);
  rss.stop();
  const soakWall = (Date.now() - begin) / 1000;
  const events1 = gateway.audit.on ? await scrapeMetric(gateway.url, AUDIT_EVENTS_METRIC) : undefined;
  await gateway.stop();

  const samples = rss.samples.map((s) => s.mib);
  const edge = Math.max(1, Math.floor(samples.length / 5));
  const rssStart = median(samples.slice(0, edge));
  const rssEnd = median(samples.slice(-edge));
  const soak: SoakResult = {
    seconds: soakStats.seconds,
    rps: soakStats.rps,
    rssStartMiB: rssStart,
    rssEndMiB: rssEnd,
    rssMaxMiB: Math.max(...samples),
    growthPercent: (100 * (rssEnd - rssStart)) / rssStart,
  };
  ctx.progress(
    `soak: ${soakStats.rps.toFixed(0)} req/s, gateway RSS ${rssStart.toFixed(1)} -> ${rssEnd.toFixed(1)} MiB (${soak.growthPercent.toFixed(1)}%)`,
  );

  let audit: AuditResult = { on: gateway.audit.on, detail: gateway.audit.detail };
  if (gateway.audit.on && events0 !== undefined && events1 !== undefined) {
    const eventsPerSecond = (events1 - events0) / soakWall;
    const queueSlopePerSecond = slope(queue);
    audit = {
      ...audit,
      eventsPerSecond,
      requestsPerSecond: soakStats.rps,
      queueMax: Math.max(0, ...queue.map((q) => q.y)),
      queueLast: queue.at(-1)?.y ?? 0,
      queueSlopePerSecond,
      queueGrows: queueSlopePerSecond > QUEUE_GROWTH_SHARE * eventsPerSecond,
    };
    if (auditDuringRun !== undefined) {
      ctx.note(`audit during workload 3's gateway run: ${(auditDuringRun.events / auditDuringRun.seconds).toFixed(0)} events/s`);
    }
    ctx.progress(`audit: ${eventsPerSecond.toFixed(0)} events/s, queue max ${audit.queueMax}, trend ${queueSlopePerSecond.toFixed(1)} events/s`);
  }
  return { rows, soak, audit, nodeReference };
}

/** The bare node:http proxy on the proxies' core, at the same load: Node.js's own cost per request. */
async function measureBareNodeProxy(
  ctx: BenchContext,
  upstreamPort: number,
  dir: string,
  load: (baseUrl: string, seconds: number) => ReturnType<typeof runWrk>,
): Promise<NodeReference> {
  const { url, process: started } = await startBareNodeProxy(ctx, upstreamPort, dir, FAST_ROUTE_PATH, PROXY_CPU);
  if (ctx.size.warmupSeconds > 0) await load(url, ctx.size.warmupSeconds);
  const cpu0 = cpuSeconds([started.pid]);
  const wall0 = Date.now();
  const stats = await load(url, ctx.size.fastRouteSeconds);
  const wall = (Date.now() - wall0) / 1000;
  const cpu = cpuSeconds([started.pid]) - cpu0;
  await ctx.registry.stop(started);
  const reference = { rps: stats.rps, microsPerRequest: (cpu / stats.requests) * 1e6, utilisation: cpu / wall };
  ctx.progress(
    `fast GetExperiment c=${FAST_CONCURRENCY} bare node:http proxy (reference): ${reference.rps.toFixed(0)} req/s, ${reference.microsPerRequest.toFixed(0)} µs CPU/request`,
  );
  return reference;
}
