import type { PolicyStageResult } from "./workloads/policy-stage.js";
/** The shape of one benchmark run's results: what the JSON file holds and the table is drawn from. */
import type { LoadStats } from "./run-wrk.js";

export type PathName = "direct" | "gateway" | "nginx";
export const PATHS: readonly PathName[] = ["direct", "gateway", "nginx"];

export interface Target {
  url: string;
  name: PathName;
  /** The processes of the proxy in this path (none for direct), for CPU accounting. */
  proxyPids?: () => number[];
}

export interface LoadRow {
  workload: "small reads" | "small writes" | "fast route";
  operation: string;
  concurrency: number;
  path: PathName;
  stats: LoadStats;
  /** Workload 3: CPU of the process in the path (gateway, nginx proxy, or the upstream for direct). */
  cpu?: { microsPerRequest: number; utilisation: number };
}

export interface TransferRow {
  path: PathName;
  direction: "download" | "upload";
  mib: number;
  /** MiB/s of each repetition, and their median. */
  mibPerSecond: number[];
  median: number;
  /** Gateway only: largest RSS growth over the RSS before the transfer, in MiB. */
  gatewayRssGrowthMiB?: number;
  /** CPU seconds the proxy in the path spent per GiB moved (median; not for direct). */
  proxyCpuSecondsPerGiB?: number;
}

export interface ColdStart {
  gatewayMs: number[];
  bareMs: number[];
  medianGatewayMs: number;
  medianBareMs: number;
  /** From spawning the gateway to its "starting mlflow server" log line: its own start before the child's begins. */
  medianBeforeChildMs: number;
  /** From the child's spawn to the gateway's "mlflow server is ready" (includes the health poll interval). */
  medianChildStartMs: number;
}

export interface SoakResult {
  seconds: number;
  rps: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  growthPercent: number;
}

/** Workload 3's bare node:http proxy (scripts/bench/bare-node-proxy.ts) on the proxies' core. */
export interface NodeReference {
  rps: number;
  microsPerRequest: number;
  utilisation: number;
}

export interface AuditResult {
  on: boolean;
  detail: string;
  /** Events recorded per second while workload 3's rate was sustained. */
  eventsPerSecond?: number;
  /** Requests per second of that load, for comparison. */
  requestsPerSecond?: number;
  queueMax?: number;
  queueLast?: number;
  /** Least-squares growth of the queue over the run, events per second. */
  queueSlopePerSecond?: number;
  queueGrows?: boolean;
}

export interface Environment {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  /** 1-minute load average when the run began. */
  loadAverageAtStart: number;
  /** Cores that processes other than the benchmark's kept busy, on average over the run: noise on a shared machine. */
  otherProcessesCores: number;
  node: string;
  gateway: string;
  mlflow: string;
  nginx: string;
  wrk: string;
  curl: string;
}

export interface Stages {
  identity: string;
  policy: string;
  audit: string;
}

export interface TargetResult {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchResults {
  size: string;
  startedAt: string;
  durationSeconds: number;
  command: string;
  environment: Environment;
  stages: Stages;
  load: LoadRow[];
  transfers: TransferRow[];
  coldStart: ColdStart | undefined;
  soak: SoakResult | undefined;
  /** What a bare Node.js proxy does on the fast route, for comparison with the gateway. */
  nodeReference: NodeReference | undefined;
  audit: AuditResult;
  /** The policy stage's cost per decision (in-process), built-in vs a realistic policy. */
  policy?: PolicyStageResult | undefined;
  targets: TargetResult[];
  notes: string[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
