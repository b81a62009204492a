import { execa, type ResultPromise } from "execa";
import type { Logger } from "../log/create-logger.js";
import { type ChildCommand, CHILD_HOST, describeChildCommand } from "./child-command.js";
import { ChildOutput } from "./child-output.js";
import { RestartPolicy } from "./restart-policy.js";
import { checkHealth, sleep, waitForHealth } from "./wait-for-health.js";

export type ChildPhase = "idle" | "starting" | "ready" | "backoff" | "stopping" | "stopped";

export interface ChildExit {
  code: number | null;
  signal: string | null;
  at: string;
  reason: string;
  lastLines: string[];
}

export interface SupervisorStatus {
  phase: ChildPhase;
  crashLoop: boolean;
  /** Restarts after an unexpected exit since the gateway started. */
  restarts: number;
  consecutiveFailures: number;
  pid: number | undefined;
  port: number;
  lastExit: ChildExit | undefined;
  nextStartAt: string | undefined;
}

export interface SupervisorOptions {
  command: ChildCommand;
  port: number;
  startTimeoutMs: number;
  logger: Logger;
  policy?: RestartPolicy;
  /** Between SIGTERM and SIGKILL when stopping; Databricks Apps allows 15 s in all. */
  stopTimeoutMs?: number;
  /** Liveness of a ready child: probe interval and how many failed probes mean "hung". */
  monitorIntervalMs?: number;
  monitorFailureThreshold?: number;
  /** The level of the child's ordinary (untagged or INFO) lines: "debug" keeps a terminal quiet. */
  childInfoLevel?: "info" | "debug";
}

export const DEFAULT_STOP_TIMEOUT_MS = 3_000;
export const DEFAULT_MONITOR_INTERVAL_MS = 10_000;
export const DEFAULT_MONITOR_FAILURE_THRESHOLD = 3;

const SPAWN_OPTIONS = {
  extendEnv: false,
  // Own process group, so stop() and crash clean-up reach uvicorn's worker processes.
  detached: true,
  stdin: "ignore",
  buffer: false,
  reject: false,
  cleanup: false,
} as const;

type Child = ResultPromise<typeof SPAWN_OPTIONS & { env: Record<string, string> }>;

/**
 * Runs `mlflow server` as a child process: waits for /health, restarts it after an
 * unexpected exit with exponential backoff, reports a crash loop, and stops it (the
 * whole process group: uvicorn's workers are grandchildren) on shutdown.
 */
export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #policy: RestartPolicy;
  readonly #output: ChildOutput;
  readonly #stopController = new AbortController();
  #phase: ChildPhase = "idle";
  #child: Child | undefined;
  #pid: number | undefined;
  #restarts = 0;
  #crashLoop = false;
  #lastExit: ChildExit | undefined;
  #nextStartAt: number | undefined;
  #loop: Promise<void> | undefined;
  readonly #readyWaiters = new Set<() => void>();
  readonly #listeners = new Set<(status: SupervisorStatus) => void>();

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#policy = options.policy ?? new RestartPolicy();
    this.#output = new ChildOutput(options.logger, { infoLevel: options.childInfoLevel });
  }

  get baseUrl(): string {
    return `http://${CHILD_HOST}:${this.#options.port}`;
  }

  isReady(): boolean {
    return this.#phase === "ready";
  }

  status(): SupervisorStatus {
    return {
      phase: this.#phase,
      crashLoop: this.#crashLoop,
      restarts: this.#restarts,
      consecutiveFailures: this.#policy.consecutiveFailures,
      pid: this.#pid,
      port: this.#options.port,
      lastExit: this.#lastExit,
      nextStartAt: this.#nextStartAt === undefined ? undefined : new Date(this.#nextStartAt).toISOString(),
    };
  }

  onStatusChange(listener: (status: SupervisorStatus) => void): void {
    this.#listeners.add(listener);
  }

  start(): void {
    if (this.#loop !== undefined) return;
    // Last resort if the gateway exits without stop(): never leave an orphaned server.
    process.once("exit", () => this.#killGroup("SIGKILL"));
    this.#loop = this.#runLoop().catch((error: unknown) => {
      this.#options.logger.error("supervisor loop failed", { error: String(error) });
    });
  }

  /** Resolves true once the child is ready, false if `timeoutMs` passes first or it stops. */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.isReady()) return true;
    let release: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      release = resolve;
      this.#readyWaiters.add(resolve);
    });
    const timeout = new AbortController();
    await Promise.race([ready, sleep(timeoutMs, timeout.signal)]);
    timeout.abort();
    this.#readyWaiters.delete(release);
    return this.isReady();
  }

  /** Stops the child (SIGTERM to its group, SIGKILL after the stop timeout) and the restart loop. */
  async stop(): Promise<void> {
    if (this.#phase === "stopped") return;
    this.#stopController.abort();
    this.#setPhase("stopping");
    const child = this.#child;
    if (child !== undefined) {
      this.#killGroup("SIGTERM");
      const stopTimeout = this.#options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
      const alreadyExited = child.exitCode !== null || child.signalCode !== null;
      const exited =
        alreadyExited ||
        (await Promise.race([new Promise<boolean>((resolve) => child.once("exit", () => resolve(true))), sleep(stopTimeout).then(() => false)]));
      if (!exited) {
        this.#options.logger.warn(`mlflow server did not stop within ${stopTimeout} ms; sending SIGKILL`);
      }
      this.#killGroup("SIGKILL");
      await child;
    }
    await this.#loop;
    this.#setPhase("stopped");
  }

  async #runLoop(): Promise<void> {
    const stopSignal = this.#stopController.signal;
    while (!stopSignal.aborted) {
      const exit = await this.#runOnce();
      if (stopSignal.aborted) break;
      const decision = this.#policy.recordFailure(Date.now());
      this.#restarts += 1;
      this.#crashLoop = decision.crashLoop;
      this.#lastExit = exit;
      this.#nextStartAt = Date.now() + decision.delayMs;
      this.#setPhase("backoff");
      const details = {
        code: exit.code,
        signal: exit.signal,
        reason: exit.reason,
        restartInMs: decision.delayMs,
        consecutiveFailures: decision.consecutiveFailures,
      };
      if (decision.crashLoop) {
        this.#options.logger.error(
          `mlflow server is in a crash loop: ${decision.consecutiveFailures} consecutive failures (last: ${exit.reason}). Retrying every ${Math.round(decision.delayMs / 1000)} s; its last output follows.`,
          { ...details, lastLines: exit.lastLines },
        );
      } else {
        this.#options.logger.warn(`mlflow server stopped unexpectedly (${exit.reason}); restarting in ${decision.delayMs} ms`, details);
      }
      await sleep(decision.delayMs, stopSignal);
      this.#nextStartAt = undefined;
    }
  }

  /** One life of the child: spawn, wait for health, watch it, return how it ended. */
  async #runOnce(): Promise<ChildExit> {
    const { command, logger, startTimeoutMs } = this.#options;
    this.#output.clear();
    this.#setPhase("starting");
    logger.info("starting mlflow server", { command: describeChildCommand(command) });
    const child: Child = execa(command.file, command.args, { ...SPAWN_OPTIONS, env: command.env });
    this.#child = child;
    this.#pid = child.pid;
    this.#output.attach(child.stdout, "stdout", child.pid);
    this.#output.attach(child.stderr, "stderr", child.pid);

    const exited = new AbortController();
    let reason: string | undefined;
    // 'exit' fires when the leader dies even while its orphaned workers still hold the
    // output pipes open (the execa promise waits for those pipes to close).
    const leaderExit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    const finished = child.then((result) => ({ code: result.exitCode ?? null, signal: result.signal ?? null, result }));
    const ended = Promise.race([leaderExit, finished]).then((end) => {
      exited.abort();
      return end;
    });

    const outcome = await waitForHealth(this.baseUrl, startTimeoutMs, AbortSignal.any([exited.signal, this.#stopController.signal]));
    if (outcome === "healthy") {
      this.#policy.recordReady(Date.now());
      this.#crashLoop = false;
      this.#setPhase("ready");
      logger.info("mlflow server is ready", { pid: child.pid, url: this.baseUrl });
      for (const release of this.#readyWaiters) release();
      reason = await this.#monitor(exited.signal);
    } else if (outcome === "timeout") {
      reason = `did not answer /health within ${startTimeoutMs} ms`;
      this.#killGroup("SIGKILL");
    }

    const end = await ended;
    // The leader is gone; make sure no worker of its group survives to hold the port
    // (or the output pipes, which the execa promise below waits for).
    this.#killGroup("SIGKILL");
    const { result } = await finished;
    this.#child = undefined;
    this.#pid = undefined;
    const spawnError = result.failed && result.exitCode === undefined && result.signal === undefined;
    return {
      code: end.code,
      signal: end.signal,
      at: new Date().toISOString(),
      reason: reason ?? (spawnError ? `could not be started: ${result.originalMessage || result.shortMessage}` : describeExit(end.code, end.signal)),
      lastLines: this.#output.recent(),
    };
  }

  /** Probes a ready child; kills it when it stops answering, so the loop restarts it. */
  async #monitor(exited: AbortSignal): Promise<string | undefined> {
    const interval = this.#options.monitorIntervalMs ?? DEFAULT_MONITOR_INTERVAL_MS;
    const threshold = this.#options.monitorFailureThreshold ?? DEFAULT_MONITOR_FAILURE_THRESHOLD;
    const until = AbortSignal.any([exited, this.#stopController.signal]);
    let failures = 0;
    while (!until.aborted) {
      await sleep(interval, until);
      if (until.aborted) break;
      failures = (await checkHealth(this.baseUrl)) ? 0 : failures + 1;
      if (failures >= threshold) {
        this.#options.logger.error(`mlflow server stopped answering /health (${failures} probes in a row); killing it to restart`);
        this.#killGroup("SIGKILL");
        return `stopped answering /health (${failures} probes in a row)`;
      }
    }
    return undefined;
  }

  #killGroup(signal: NodeJS.Signals): void {
    const pid = this.#pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone, which is what we want.
    }
  }

  #setPhase(phase: ChildPhase): void {
    if (this.#phase === phase) return;
    this.#phase = phase;
    const status = this.status();
    for (const listener of this.#listeners) listener(status);
  }
}

function describeExit(code: number | null, signal: string | null): string {
  if (signal !== null) return `killed by ${signal}`;
  return `exited with code ${code ?? "unknown"}`;
}
