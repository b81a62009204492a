// A local server the emulator needs (the backing mlflow server, moto, Azurite)
// run as a child of the test process, in its own process group (detached):
// uvicorn's workers are grandchildren, so only killing the group leaves
// nothing behind, and a crashed test runner still takes it down (process
// "exit" hook).

import { createServer } from "node:net";
import { execa, type ResultPromise } from "execa";

export interface ServerProcess {
  readonly pid: number;
  /** Last lines of the server's output, for error messages. */
  logTail(): string;
  /** SIGTERM, then SIGKILL of the whole group; idempotent. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** Short name for error messages ("mlflow server", "moto", "azurite"). */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  /** Resolves true once the server answers; polled until startTimeoutMs. */
  isReady: () => Promise<boolean>;
  startTimeoutMs: number;
  /** Receives each output line (for debugging). */
  onLog?: (line: string) => void;
}

const LOG_TAIL_LINES = 40;
const READY_POLL_MS = 150;
const STOP_GRACE_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const tail: string[] = [];
  const child: ResultPromise = execa(options.command, options.args, {
    env: options.env ?? {},
    extendEnv: true,
    detached: true,
    reject: false,
    stdin: "ignore",
    all: true,
    buffer: false,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  child.all?.setEncoding("utf8");
  child.all?.on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      options.onLog?.(line);
    }
  });
  const onExit = (): void => killGroup(pid, "SIGKILL");
  process.once("exit", onExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.removeListener("exit", onExit);
      if (!exited) killGroup(pid, "SIGTERM");
      for (let waited = 0; waited < STOP_GRACE_MS && !exited; waited += 100) await sleep(100);
      // Children of the server (if any) may outlive it; the group goes regardless.
      killGroup(pid, "SIGKILL");
      await Promise.race([child, sleep(2000)]);
    })();
    return stopped;
  };

  const deadline = Date.now() + options.startTimeoutMs;
  while (Date.now() < deadline && !exited) {
    if (await options.isReady().catch(() => false)) return { pid, logTail: () => tail.join("\n"), stop };
    await sleep(READY_POLL_MS);
  }
  await stop();
  throw new Error(
    `${options.name} did not become ready within ${options.startTimeoutMs} ms (${exited ? "it exited" : "still starting"}):\n${tail.join("\n")}`,
  );
}

/** A free loopback port (the server binds it a moment later; a race we accept in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
