/**
 * Command-line options and the two sizes of the benchmark. `smoke` proves the script
 * works in CI (well under 90 s, numbers not meaningful); `full` is what the figures in
 * docs/benchmark.md come from.
 */

export type SizeName = "smoke" | "full";

export interface BenchSize {
  name: SizeName;
  /** Seconds of each measured load run (workloads 1 and 2). */
  runSeconds: number;
  /** Seconds of load before the measured runs of each path, so JITs and pools are warm (0: one priming request only). */
  warmupSeconds: number;
  /** Seconds of each measured run on the fast upstream route (workload 3). */
  fastRouteSeconds: number;
  /** Size of the artifact transferred each way (workload 4). */
  artifactMiB: number;
  /** Transfers per path and direction; the median is reported. */
  transferRepetitions: number;
  /** Cold starts of each kind; the median is reported. */
  coldStartRepetitions: number;
  /**
   * Race one bare `mlflow server` against the main stack's own first start (both on empty
   * folders, started together) instead of separate alternating starts: one MLflow start less.
   */
  coldStartFromMainStack: boolean;
  /** Workers of every `mlflow server` (GATEWAY_MLFLOW_WORKERS; the gateway's default is 2). */
  mlflowWorkers: number;
  /** Pause after each load run, so requests MLflow still has queued do not slow the next path's run. */
  settleSeconds: number;
  /** Sustained load for the RSS and audit-queue check. */
  soakSeconds: number;
}

export const SIZES: Record<SizeName, BenchSize> = {
  smoke: {
    name: "smoke",
    runSeconds: 1,
    warmupSeconds: 0,
    fastRouteSeconds: 1,
    artifactMiB: 8,
    transferRepetitions: 1,
    coldStartRepetitions: 1,
    coldStartFromMainStack: true,
    mlflowWorkers: 2,
    settleSeconds: 0.25,
    soakSeconds: 3,
  },
  full: {
    name: "full",
    runSeconds: 10,
    warmupSeconds: 3,
    fastRouteSeconds: 15,
    artifactMiB: 1024,
    transferRepetitions: 3,
    coldStartRepetitions: 3,
    coldStartFromMainStack: false,
    mlflowWorkers: 2,
    settleSeconds: 2,
    soakSeconds: 60,
  },
};

/** The workloads, by the names `--only` takes (the fast route includes the soak and the audit check). */
export const WORKLOADS = ["reads", "writes", "artifacts", "cold-start", "fast-route"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export interface BenchOptions {
  /** The workloads to run (all by default). */
  only: ReadonlySet<WorkloadName>;
  size: BenchSize;
  /** Where the JSON result goes (git-ignored). */
  outputDir: string;
  /** Another build of the gateway to measure (its dist/main.js), for comparing a candidate change. */
  gatewayEntry: string | undefined;
  /** Run every gateway with `node --cpu-prof`, profiles written under outputDir. */
  profile: boolean;
}

export class UsageError extends Error {}

const USAGE = `usage: npm run bench -- [--size smoke|full] [--only ${WORKLOADS.join(",")}] [--artifact-mib N] [--soak-seconds N] [--gateway-entry FILE] [--output-dir DIR] [--profile]`;

export function parseOptions(argv: readonly string[], defaultOutputDir: string): BenchOptions {
  let sizeName: string = "full";
  let outputDir = defaultOutputDir;
  let profile = false;
  let only = new Set<WorkloadName>(WORKLOADS);
  let artifactMiB: number | undefined;
  let gatewayEntry: string | undefined;
  let soakSeconds: number | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[(i += 1)];
      if (next === undefined || next === "") throw new UsageError(`${flag} needs a value. ${USAGE}`);
      return next;
    };
    switch (flag) {
      case "--size":
        sizeName = value();
        break;
      case "--output-dir":
        outputDir = value();
        break;
      case "--only": {
        const names = value().split(",").filter(Boolean);
        const unknown = names.filter((name) => !(WORKLOADS as readonly string[]).includes(name));
        if (unknown.length > 0 || names.length === 0)
          throw new UsageError(`--only takes workload names (${WORKLOADS.join(", ")}), not '${unknown.join(",")}'. ${USAGE}`);
        only = new Set(names as WorkloadName[]);
        break;
      }
      case "--artifact-mib": {
        artifactMiB = Number(value());
        if (!Number.isInteger(artifactMiB) || artifactMiB < 1) throw new UsageError(`--artifact-mib takes a whole number of MiB. ${USAGE}`);
        break;
      }
      case "--soak-seconds": {
        // A longer soak tells a heap that is still settling from one that keeps growing.
        soakSeconds = Number(value());
        if (!Number.isInteger(soakSeconds) || soakSeconds < 1) throw new UsageError(`--soak-seconds takes a whole number of seconds. ${USAGE}`);
        break;
      }
      case "--gateway-entry":
        gatewayEntry = value();
        break;
      case "--profile":
        profile = true;
        break;
      case "--help":
      case "-h":
        throw new UsageError(USAGE);
      default:
        throw new UsageError(`unknown option '${arg}'. ${USAGE}`);
    }
  }
  if (sizeName !== "smoke" && sizeName !== "full") throw new UsageError(`--size must be smoke or full, not '${sizeName}'. ${USAGE}`);
  const size = { ...SIZES[sizeName], ...(artifactMiB === undefined ? {} : { artifactMiB }), ...(soakSeconds === undefined ? {} : { soakSeconds }) };
  return { size, outputDir, profile, only, gatewayEntry };
}
