/**
 * Workload 5: from process start to ready, the gateway with its child (first 200 on
 * /-/ready) against a bare `mlflow server` with the same command line (first 200 on
 * /health). The kinds alternate which goes first.
 *
 * `full`: each start gets a fresh folder holding a copy of an already initialised
 * database, as every restart after the first does: MLflow's schema migrations (seconds,
 * the same for both) would only add noise to the difference. `smoke` (CI's time budget):
 * the main stack's own first start is the gateway's sample, raced against one bare start
 * begun at the same moment on an empty folder: both run the migrations, both share the CPU.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { BenchContext } from "../bench-context.js";
import { findFreePort } from "../../../src/supervisor/free-port.js";
import { type ColdStart, median } from "../results.js";
import { type GatewayHandle, loggedAt, startGateway } from "../start-gateway.js";
import { DATABASE_FILE, startBareMlflow } from "../start-mlflow.js";
import { waitForHttp } from "../wait-for-http.js";

const START_TIMEOUT_MS = 120_000;

export interface GatewayStart {
  readyMs: number;
  /** From spawning the gateway to its "starting mlflow server" line. */
  beforeChildMs: number;
  /** From that line to "mlflow server is ready" (includes the supervisor's health poll interval). */
  childStartMs: number;
}

/** How a started gateway spent its start, from its log. */
export function describeStart(gateway: GatewayHandle): GatewayStart {
  const childSpawned = loggedAt(gateway.setup.logFile, "starting mlflow server") ?? Number.NaN;
  const childReady = loggedAt(gateway.setup.logFile, "mlflow server is ready") ?? Number.NaN;
  return { readyMs: gateway.readyMs, beforeChildMs: childSpawned - gateway.spawnedAt, childStartMs: childReady - childSpawned };
}

function seedDatabase(templateDb: string | undefined, dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (templateDb !== undefined) copyFileSync(templateDb, path.join(dir, DATABASE_FILE));
}

async function timeBare(ctx: BenchContext, rep: number, templateDb: string | undefined): Promise<number> {
  const dir = ctx.registry.makeTempDir("bench-cold-bare-");
  seedDatabase(templateDb, dir);
  const port = await findFreePort();
  const begin = Date.now();
  const started = startBareMlflow(ctx.registry, dir, port, path.join(dir, "mlflow.log"), ctx.size.mlflowWorkers);
  await waitForHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: START_TIMEOUT_MS, process: started });
  const ms = Date.now() - begin;
  await ctx.registry.stop(started);
  ctx.progress(`cold start ${rep + 1}: bare mlflow server ready in ${ms} ms`);
  return ms;
}

function reportGateway(ctx: BenchContext, rep: number, start: GatewayStart): GatewayStart {
  ctx.progress(
    `cold start ${rep + 1}: gateway + child ready in ${start.readyMs} ms (gateway's own start ${start.beforeChildMs} ms, then the child ${start.childStartMs} ms)`,
  );
  return start;
}

async function timeGateway(ctx: BenchContext, rep: number, keyServerHost: string, templateDb: string): Promise<GatewayStart> {
  const dir = ctx.registry.makeTempDir("bench-cold-gateway-");
  seedDatabase(templateDb, path.join(dir, "data"));
  const gateway = await startGateway(ctx.registry, {
    name: "gateway (cold start)",
    port: await findFreePort(),
    childPort: await findFreePort(),
    dataDir: path.join(dir, "data"),
    logFile: path.join(dir, "gateway.log"),
    keyServerHost,
    auditDir: path.join(dir, "audit"),
    taskset: ctx.tools.taskset,
    nodeArgs: ctx.gatewayNodeArgs,
    entry: ctx.gatewayEntry,
    mlflowWorkers: ctx.size.mlflowWorkers,
  });
  await gateway.stop();
  return reportGateway(ctx, rep, describeStart(gateway));
}

function summarise(gateway: readonly GatewayStart[], bareMs: number[]): ColdStart {
  const gatewayMs = gateway.map((g) => g.readyMs);
  return {
    gatewayMs,
    bareMs,
    medianGatewayMs: median(gatewayMs),
    medianBareMs: median(bareMs),
    medianBeforeChildMs: median(gateway.map((g) => g.beforeChildMs)),
    medianChildStartMs: median(gateway.map((g) => g.childStartMs)),
  };
}

/** `full`: alternating starts on copies of `templateDb`. */
export async function runColdStart(ctx: BenchContext, keyServerHost: string, templateDb: string): Promise<ColdStart> {
  const gateway: GatewayStart[] = [];
  const bareMs: number[] = [];
  for (let rep = 0; rep < ctx.size.coldStartRepetitions; rep += 1) {
    if (rep % 2 === 0) {
      bareMs.push(await timeBare(ctx, rep, templateDb));
      gateway.push(await timeGateway(ctx, rep, keyServerHost, templateDb));
    } else {
      gateway.push(await timeGateway(ctx, rep, keyServerHost, templateDb));
      bareMs.push(await timeBare(ctx, rep, templateDb));
    }
  }
  return summarise(gateway, bareMs);
}

/** `smoke`: a bare first start, begun together with the main stack's; resolves with both once `mainStart` is known. */
export function raceBareStart(ctx: BenchContext): { finish(mainStart: GatewayStart): Promise<ColdStart> } {
  const bare = timeBare(ctx, 0, undefined);
  // Reported (and awaited) once the gateway's own start is known; an error is not lost meanwhile.
  bare.catch(() => undefined);
  return { finish: async (mainStart) => summarise([reportGateway(ctx, 0, mainStart)], [await bare]) };
}
