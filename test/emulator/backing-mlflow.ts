// The real open-source MLflow server that holds the emulator's state. The
// emulator translates Databricks calls onto it instead of reimplementing
// MLflow (started with server-process.ts, in its own process group).

import { randomInt } from "node:crypto";
import path from "node:path";
import { execa } from "execa";
import { freePort, startServerProcess } from "./server-process.js";
import { mlflowServerArgs } from "../support/mlflow-server-args.js";

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

export async function startBackingMlflow(options: BackingMlflowOptions): Promise<BackingMlflow> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: "backing mlflow server",
    command: options.mlflowBin,
    args: mlflowServerArgs({
      port,
      backendStoreUri: `sqlite:///${options.dbPath}`,
      defaultArtifactRoot: options.defaultArtifactRoot,
      artifactsDestination: options.artifactsDir,
    }),
    env: {
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
      // The backing server must not pick up a caller's Databricks or tracking settings.
      MLFLOW_TRACKING_URI: undefined,
      MLFLOW_REGISTRY_URI: undefined,
      DATABRICKS_HOST: undefined,
      DATABRICKS_TOKEN: undefined,
      DATABRICKS_CLIENT_ID: undefined,
      DATABRICKS_CLIENT_SECRET: undefined,
    },
    isReady: async () => (await fetch(`${url}/health`)).ok,
    startTimeoutMs: options.startTimeoutMs,
    ...(options.onLog ? { onLog: options.onLog } : {}),
  });
  try {
    // `mlflow server` created the schema (and its Default experiment) before listening.
    await seedExperimentIds(options.mlflowBin, options.dbPath);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url, port, logTail: () => server.logTail(), stop: () => server.stop() };
}
