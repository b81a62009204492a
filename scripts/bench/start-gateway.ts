/**
 * Starts the built gateway (dist/main.js, exactly what `npm start` runs) as a real process,
 * in the configuration the benchmark measures: identity verification in `token` mode
 * against a key server the benchmark runs, policy (always on) and audit with the file sink.
 * The child's port is fixed, so the direct and nginx rows reach the very same child.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ProcessRegistry, StartedProcess } from "./process-registry.js";
import { readMetricSum } from "./prometheus.js";
import { waitForHttp } from "./wait-for-http.js";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
export const GATEWAY_ENTRY = path.join(REPO_ROOT, "dist", "main.js");
/** Exit code of the gateway for an invalid configuration (src/main.ts). */
const EXIT_CONFIG_INVALID = 2;
/** The audit contract: events recorded, and events accepted but not yet written. */
export const AUDIT_EVENTS_METRIC = "gateway_audit_events_total";
export const AUDIT_QUEUE_METRIC = "gateway_audit_queue_events";
/** At least 32 characters (GATEWAY_AUDIT_HMAC_KEY); a fixed value is fine for a benchmark. */
const BENCH_AUDIT_KEY = "bench-only-audit-digest-key-0123456789abcdef";

export interface GatewaySetup {
  name: string;
  port: number;
  childPort: number;
  dataDir: string;
  /** Where the gateway's stdout (its JSON log, one access line per request) goes. */
  logFile: string;
  /** DATABRICKS_HOST: the key server that publishes the token's signing key. */
  keyServerHost: string;
  auditDir: string;
  /** Another "mlflow" executable (workload 3's trivial upstream). */
  mlflowBin?: string;
  /** Pin the gateway (all its threads) to this core. */
  cpu?: number;
  taskset: string;
  /** GATEWAY_MLFLOW_WORKERS. */
  mlflowWorkers: number;
  /** The build to run; dist/main.js by default. */
  entry?: string;
  /** Node options before the entry point (`--cpu-prof ...` when profiling). */
  nodeArgs?: readonly string[];
}

export interface AuditState {
  on: boolean;
  detail: string;
}

export interface GatewayHandle {
  url: string;
  process: StartedProcess;
  setup: GatewaySetup;
  audit: AuditState;
  /** When the process was spawned (epoch ms), and how long until the first 200 on /-/ready. */
  spawnedAt: number;
  readyMs: number;
  stop(): Promise<void>;
}

/**
 * What the gateway passes on to its child, the same for the bare `mlflow server` of the
 * cold-start comparison (start-mlflow.ts).
 */
export const BENCH_CHILD_ENV: Readonly<Record<string, string>> = {
  PATH: process.env["PATH"] ?? "",
  HOME: process.env["HOME"] ?? "/tmp",
  // MLflow's background job runners would compete for the same two cores in every row.
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
};

/** The gateway's variables in the benchmark: what a team in front of Databricks would run, locally. */
function gatewayEnv(setup: GatewaySetup, withAudit: boolean): NodeJS.ProcessEnv {
  return {
    ...BENCH_CHILD_ENV,
    PORT: String(setup.port),
    GATEWAY_LISTEN_HOST: "127.0.0.1",
    GATEWAY_DATA_DIR: setup.dataDir,
    GATEWAY_MLFLOW_PORT: String(setup.childPort),
    GATEWAY_MLFLOW_WORKERS: String(setup.mlflowWorkers),
    GATEWAY_IDENTITY_MODE: "token",
    DATABRICKS_HOST: setup.keyServerHost,
    ...(setup.mlflowBin === undefined ? {} : { GATEWAY_MLFLOW_BIN: setup.mlflowBin }),
    ...(withAudit ? { GATEWAY_AUDIT_SINKS: "file", GATEWAY_AUDIT_DIR: setup.auditDir, GATEWAY_AUDIT_HMAC_KEY: BENCH_AUDIT_KEY } : {}),
  };
}

/** The gateway's JSON log lines with this message, oldest first. */
export function logLines(logFile: string, message: string): Array<Record<string, unknown>> {
  if (!existsSync(logFile)) return [];
  const lines: Array<Record<string, unknown>> = [];
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes(`"${message}"`)) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A partial line.
    }
  }
  return lines;
}

/** The pid of the supervised child, from the gateway's log ("mlflow server is ready"). */
export function childPidFromLog(logFile: string): number | undefined {
  const pid = Number(logLines(logFile, "mlflow server is ready").at(-1)?.["pid"]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** When the gateway logged `message` first (epoch ms). */
export function loggedAt(logFile: string, message: string): number | undefined {
  const time = logLines(logFile, message)[0]?.["time"];
  return typeof time === "string" ? Date.parse(time) : undefined;
}

function spawnGateway(registry: ProcessRegistry, setup: GatewaySetup, withAudit: boolean): StartedProcess {
  const args = [...(setup.nodeArgs ?? []), setup.entry ?? GATEWAY_ENTRY];
  const command =
    setup.cpu === undefined ? { file: process.execPath, args } : { file: setup.taskset, args: ["-c", String(setup.cpu), process.execPath, ...args] };
  const started = registry.start(setup.name, command.file, command.args, { env: gatewayEnv(setup, withAudit), logFile: setup.logFile });
  // If the gateway ever has to be SIGKILLed, its child (its own process group) goes too.
  registry.watchOrphanGroup(started, () => childPidFromLog(setup.logFile));
  return started;
}

/**
 * Starts the gateway with audit on. A build that refuses the audit variables (exit 2
 * naming GATEWAY_AUDIT_*) is started again without them and reported as "audit: off";
 * a build that ignores them shows no audit metrics, and is reported the same way.
 */
export async function startGateway(registry: ProcessRegistry, setup: GatewaySetup): Promise<GatewayHandle> {
  const url = `http://127.0.0.1:${setup.port}`;
  let begin = Date.now();
  let started = spawnGateway(registry, setup, true);
  let audit: AuditState = { on: true, detail: "file sink" };
  try {
    await waitForHttp(`${url}/-/ready`, { timeoutMs: 120_000, process: started });
  } catch (error) {
    const log = existsSync(setup.logFile) ? readFileSync(setup.logFile, "utf8") : "";
    if (!started.hasExited() || (await started.exited) !== EXIT_CONFIG_INVALID || !log.includes("GATEWAY_AUDIT")) {
      throw new Error(`${setup.name} did not become ready: ${(error as Error).message}\n${log.split("\n").slice(-15).join("\n")}`);
    }
    const reason = /GATEWAY_AUDIT_\w+: [^\n]*/.exec(log)?.[0] ?? "GATEWAY_AUDIT_* refused";
    audit = { on: false, detail: `off: this build refused the audit variables (${reason})` };
    begin = Date.now();
    started = spawnGateway(registry, setup, false);
    await waitForHttp(`${url}/-/ready`, { timeoutMs: 120_000, process: started });
  }
  const readyMs = Date.now() - begin;
  const spawnedAt = begin;
  if (audit.on) {
    const metrics = await fetch(`${url}/-/metrics`).then((r) => r.text());
    if (readMetricSum(metrics, AUDIT_EVENTS_METRIC) === undefined) {
      audit = { on: false, detail: `off: this build exposes no ${AUDIT_EVENTS_METRIC} metric (audit not wired in yet)` };
    }
  }
  const process = started;
  return { url, process, setup, audit, spawnedAt, readyMs, stop: () => registry.stop(process) };
}
