// The real open-source MLflow server that holds the emulator's state. The
// emulator translates Databricks calls onto it instead of reimplementing
// MLflow. Runs in its own process group (detached) because uvicorn's workers
// are grandchildren: only killing the group leaves nothing behind.

import { randomInt } from "node:crypto";
import { createServer } from "node:net";
import path from "node:path";
import { execa, type ResultPromise } from "execa";

export interface BackingMlflow {
  readonly url: string;
  readonly port: number;
  /** Last lines of the server's output, for error messages. */
  logTail(): string;
  stop(): Promise<void>;
}

export interface BackingMlflowOptions {
  mlflowBin: string;
  /** SQLite database file. */
  dbPath: string;
  artifactsDir: string;
  /** Experiment artifact root; Databricks-style so runs get dbfs:/databricks/mlflow-tracking/... */
  defaultArtifactRoot: string;
  startTimeoutMs: number;
  onLog?: (line: string) => void;
}

/** Name of the reserved row that moves the id counter; not a workspace path, so never shown. */
export const ID_SEED_EXPERIMENT = "databricks-emulator-node-id-seed";

/**
 * Databricks experiment ids are workspace node ids: 15-16 digit numbers, never 0
 * (research: databrickslabs/cicd-templates#5, terraform-provider fixtures). The open-source
 * SQL store numbers experiments max(id) + 1 (SQLite INTEGER PRIMARY KEY), so one reserved,
 * deleted row with a large random id makes every later experiment a node-id-like number.
 */
async function seedExperimentIds(mlflowBin: string, dbPath: string): Promise<void> {
  const python = path.join(path.dirname(mlflowBin), "python");
  const seed = randomInt(1_000_000_000, 2_000_000_000) * 1_000_000;
  const script = [
    "import sqlite3, sys",
    "db = sqlite3.connect(sys.argv[1])",
    "db.execute(\"INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, '', 'deleted', 0, 0)\", (int(sys.argv[2]), sys.argv[3]))",
    "db.commit()",
  ].join("\n");
  await execa(python, ["-c", script, dbPath, String(seed), ID_SEED_EXPERIMENT]);
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

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startBackingMlflow(options: BackingMlflowOptions): Promise<BackingMlflow> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const tail: string[] = [];
  const env: Record<string, string | undefined> = {
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    // The backing server must not pick up a caller's Databricks or tracking settings.
    MLFLOW_TRACKING_URI: undefined,
    MLFLOW_REGISTRY_URI: undefined,
    DATABRICKS_HOST: undefined,
    DATABRICKS_TOKEN: undefined,
    DATABRICKS_CLIENT_ID: undefined,
    DATABRICKS_CLIENT_SECRET: undefined,
  };
  const child: ResultPromise = execa(
    options.mlflowBin,
    [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      "1",
      "--backend-store-uri",
      `sqlite:///${options.dbPath}`,
      "--default-artifact-root",
      options.defaultArtifactRoot,
      "--serve-artifacts",
      "--artifacts-destination",
      options.artifactsDir,
    ],
    { env, extendEnv: true, detached: true, reject: false, stdin: "ignore", all: true, buffer: false },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.mlflowBin}`);
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  child.all?.setEncoding("utf8");
  child.all?.on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.onLog?.(line);
    }
  });
  // A crashed test runner must not leave a server behind.
  const onExit = (): void => killGroup(pid, "SIGKILL");
  process.once("exit", onExit);

  const stop = async (): Promise<void> => {
    process.removeListener("exit", onExit);
    if (exited) return;
    killGroup(pid, "SIGTERM");
    for (let i = 0; i < 50 && !exited; i += 1) await sleep(100);
    // uvicorn workers may outlive the parent; SIGKILL the group regardless.
    killGroup(pid, "SIGKILL");
    await Promise.race([child, sleep(2000)]);
  };

  const deadline = Date.now() + options.startTimeoutMs;
  while (Date.now() < deadline) {
    if (exited) break;
    const healthy = await fetch(`${url}/health`).then(
      (res) => res.ok,
      () => false, // not listening yet
    );
    if (healthy) {
      try {
        // `mlflow server` created the schema (and its Default experiment) before listening.
        await seedExperimentIds(options.mlflowBin, options.dbPath);
      } catch (err) {
        await stop();
        throw err;
      }
      return { url, port, logTail: () => tail.join("\n"), stop };
    }
    await sleep(200);
  }
  await stop();
  throw new Error(`backing mlflow server did not become healthy on ${url}:\n${tail.join("\n")}`);
}
