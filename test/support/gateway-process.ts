import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { sleep } from "../../src/supervisor/wait-for-health.js";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
/** The built gateway, exactly what `npm start` and Databricks Apps run. */
export const ENTRY = path.join(REPO_ROOT, "dist/main.js");
/** The Node binary that runs the gateway: scripts/test.sh sets a Node 22 one for a second pass. */
export const GATEWAY_NODE = process.env["GATEWAY_TEST_NODE"] ?? process.execPath;
const READY_TIMEOUT_MS = 120_000;

export type LogLine = Record<string, unknown> & { message?: string; source?: string };

export interface GatewayProcess {
  url: string;
  port: number;
  dataDir: string | undefined;
  logs: LogLine[];
  stderr: () => string;
  process: ResultPromise;
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** The pid of the running `mlflow server` child, from the gateway's readiness report. */
  childPid(): Promise<number>;
  /** Sends `signal` and waits for the exit; removes the temporary data dir. */
  stop(signal?: NodeJS.Signals): Promise<{ exitCode: number | undefined; durationMs: number }>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Use a fresh temporary data dir (default) unless the env names one or Databricks mode is on. */
  tempDataDir?: boolean;
  waitReady?: boolean;
}

/**
 * Starts the real gateway (which starts the real `mlflow server`) on a free port. Test
 * defaults keep it light on a 2-core machine: one worker, no MLflow job runners.
 */
export async function startGateway(options: StartOptions = {}): Promise<GatewayProcess> {
  const dataDir = options.tempDataDir === false ? undefined : mkdtempSync(path.join(tmpdir(), "gateway-test-"));
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? tmpdir(),
    PORT: "0",
    GATEWAY_LISTEN_HOST: "127.0.0.1",
    GATEWAY_MLFLOW_WORKERS: "1",
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    ...(dataDir ? { GATEWAY_DATA_DIR: dataDir } : {}),
    ...options.env,
  };
  // execa would SIGKILL 5 s after any kill(); the gateway is allowed its full 15 s shutdown.
  const child = execa(GATEWAY_NODE, [ENTRY], { env, extendEnv: false, reject: false, buffer: false, stdin: "ignore", forceKillAfterDelay: 20_000 });
  const logs: LogLine[] = [];
  let stderrText = "";
  let pending = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
      try {
        logs.push(JSON.parse(text) as LogLine);
      } catch {
        logs.push({ message: text, source: "unparsed" });
      }
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderrText += chunk.toString("utf8");
  });
  let exited = false;
  void child.then(() => {
    exited = true;
  });

  const waitForLog = async (predicate: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs.find(predicate);
      if (found) return found;
      if (exited) throw new Error(`gateway exited before the expected log line; stderr: ${stderrText}`);
      if (Date.now() > deadline) throw new Error(`expected log line did not appear within ${timeoutMs} ms`);
      await sleep(25);
    }
  };

  const listening = await waitForLog((l) => l.message === "gateway listening", 30_000);
  const url = String(listening["url"]);
  const port = Number(new URL(url).port);
  const started = Date.now();

  const gateway: GatewayProcess = {
    url,
    port,
    dataDir,
    logs,
    stderr: () => stderrText,
    process: child,
    waitForLog,
    async waitUntilReady(timeoutMs = READY_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited) throw new Error(`gateway exited while starting; stderr: ${stderrText}`);
        const response = await fetch(`${url}/-/ready`).catch(() => undefined);
        if (response?.status === 200) return;
        await sleep(200);
      }
      throw new Error(`gateway not ready after ${timeoutMs} ms`);
    },
    async childPid() {
      const line = await waitForLog(
        (l) => l.message === "mlflow server is ready" && l["pid"] !== undefined && logs.indexOf(l) >= lastReadyIndex(logs),
      );
      return Number(line["pid"]);
    },
    async stop(signal = "SIGTERM") {
      const begin = Date.now();
      if (!exited) child.kill(signal);
      const result = await child;
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      return { exitCode: result.exitCode, durationMs: Date.now() - begin };
    },
  };
  if (options.waitReady !== false) {
    await gateway.waitUntilReady();
    if (process.env["TEST_VERBOSE"]) console.log(`gateway ready in ${Date.now() - started} ms at ${url}`);
  }
  return gateway;
}

function lastReadyIndex(logs: LogLine[]): number {
  for (let i = logs.length - 1; i >= 0; i -= 1) if (logs[i]?.message === "mlflow server is ready") return i;
  return 0;
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
