/**
 * Everything the benchmark starts is registered here, so that every exit path (the end
 * of the run, an error, Ctrl-C, SIGTERM) stops exactly those processes, by pid, and
 * removes the temporary data (gigabyte artifacts included). Nothing is ever killed by
 * name: other gateways and mlflow servers may run on the same machine.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** How long a process may take to stop after SIGTERM before it gets SIGKILL. */
export const STOP_GRACE_MS = 15_000;

export interface StartedProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  hasExited(): boolean;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Append stdout and stderr to this file (kept off the benchmark's own pipes). */
  logFile?: string;
  /** Pipe stdout (for short-lived tools whose output is the result). */
  captureStdout?: boolean;
}

export class ProcessRegistry {
  readonly #running = new Set<StartedProcess>();
  readonly #tempDirs = new Set<string>();
  /** Process groups that must not outlive the run if their parent had to be killed. */
  readonly #orphanGroups = new Map<StartedProcess, () => number | undefined>();

  /**
   * Starts a process in its own process group (detached), so a stop reaches its workers
   * (nginx's, uvicorn's) and a Ctrl-C in the terminal reaches only the benchmark itself.
   */
  start(name: string, file: string, args: readonly string[], options: StartOptions = {}): StartedProcess {
    const fd = options.logFile === undefined ? undefined : openSync(options.logFile, "a");
    const stdout = options.captureStdout === true ? "pipe" : (fd ?? "ignore");
    const child = spawn(file, args, { env: options.env ?? process.env, detached: true, stdio: ["ignore", stdout, fd ?? "pipe"] });
    if (fd !== undefined) closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`);
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, signal) => {
        done = true;
        resolve(code ?? signal ?? "unknown");
      });
      child.once("error", (error) => {
        done = true;
        resolve(error.message);
      });
    });
    const started: StartedProcess = { name, child, pid: child.pid, exited, hasExited: () => done };
    this.#running.add(started);
    void exited.then(() => this.#running.delete(started));
    return started;
  }

  /**
   * Registers the process group of a grandchild (the gateway's mlflow child runs in its
   * own group) to be killed only if its parent has to be SIGKILLed.
   */
  watchOrphanGroup(parent: StartedProcess, readGroup: () => number | undefined): void {
    this.#orphanGroups.set(parent, readGroup);
  }

  /** SIGTERM to the process group, SIGKILL after the grace period. */
  async stop(started: StartedProcess, graceMs = STOP_GRACE_MS): Promise<void> {
    if (!started.hasExited()) {
      signalGroup(started.pid, "SIGTERM");
      const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
      if ((await Promise.race([started.exited, timer])) === "timeout") {
        process.stderr.write(`bench: ${started.name} (pid ${started.pid}) did not stop within ${graceMs} ms; sending SIGKILL\n`);
        signalGroup(started.pid, "SIGKILL");
        const orphan = this.#orphanGroups.get(started)?.();
        if (orphan !== undefined) signalGroup(orphan, "SIGKILL");
        await started.exited;
      }
    }
    // The group's other members (nginx workers) go with their leader; make sure.
    signalGroup(started.pid, "SIGKILL");
    this.#orphanGroups.delete(started);
    this.#running.delete(started);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#running].reverse().map((started) => this.stop(started)));
    this.removeTempDirs();
  }

  /** Last resort inside an `exit` handler, where nothing asynchronous runs. */
  killAllNow(): void {
    for (const started of this.#running) {
      signalGroup(started.pid, "SIGKILL");
      const orphan = this.#orphanGroups.get(started)?.();
      if (orphan !== undefined) signalGroup(orphan, "SIGKILL");
    }
    this.#running.clear();
    this.removeTempDirs();
  }

  makeTempDir(prefix: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    this.#tempDirs.add(dir);
    return dir;
  }

  removeTempDirs(): void {
    for (const dir of this.#tempDirs) rmSync(dir, { recursive: true, force: true });
    this.#tempDirs.clear();
  }

  /**
   * Ctrl-C and SIGTERM stop everything (a second signal kills at once); an unexpected
   * exit kills whatever is left.
   */
  installSignalHandlers(): void {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals, code: number): void => {
      if (stopping) {
        this.killAllNow();
        process.exit(code);
      }
      stopping = true;
      process.stderr.write(`\nbench: ${signal}: stopping every process it started (again to kill at once)\n`);
      void this.stopAll().finally(() => process.exit(code));
    };
    process.on("SIGINT", () => onSignal("SIGINT", 130));
    process.on("SIGTERM", () => onSignal("SIGTERM", 143));
    process.on("SIGHUP", () => onSignal("SIGHUP", 129));
    process.on("exit", () => this.killAllNow());
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}
