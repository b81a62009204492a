/**
 * A bare `mlflow server`, for the cold-start comparison: the very command line the
 * gateway's supervisor builds in local mode (the gateway's own loadConfig and
 * buildChildCommand, given the benchmark gateway's settings), run without the gateway.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config/load-config.js";
import { buildChildCommand } from "../../src/supervisor/child-command.js";
import type { ProcessRegistry, StartedProcess } from "./process-registry.js";
import { BENCH_CHILD_ENV, REPO_ROOT } from "./start-gateway.js";

/** MLflow's SQLite database inside a data folder, as the gateway names it in local mode. */
export const DATABASE_FILE = "mlflow.db";
export const MLFLOW_BIN = path.join(REPO_ROOT, ".venv", "bin", "mlflow");

export function bareMlflowCommand(dataDir: string, port: number, workers: number): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const config = loadConfig({ GATEWAY_DATA_DIR: dataDir, GATEWAY_MLFLOW_WORKERS: String(workers) }, { repoRoot: REPO_ROOT });
  mkdirSync(path.join(dataDir, "artifacts"), { recursive: true });
  return buildChildCommand(config, MLFLOW_BIN, port, BENCH_CHILD_ENV);
}

export function startBareMlflow(registry: ProcessRegistry, dataDir: string, port: number, logFile: string, workers: number): StartedProcess {
  const { file, args, env } = bareMlflowCommand(dataDir, port, workers);
  return registry.start("bare mlflow server", file, args, { env, logFile });
}
