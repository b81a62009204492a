/**
 * A bare `mlflow server`, for the cold-start comparison: the same command line the
 * gateway's supervisor runs in local mode (src/supervisor/child-command.ts: loopback, the
 * workers, SQLite, served artifacts, allowed hosts, keep-alive), without the gateway.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { ProcessRegistry, StartedProcess } from "./process-registry.js";
import { REPO_ROOT } from "./start-gateway.js";

/** MLflow's SQLite database inside a data folder, as the gateway names it in local mode. */
export const DATABASE_FILE = "mlflow.db";
export const MLFLOW_BIN = path.join(REPO_ROOT, ".venv", "bin", "mlflow");
/** CHILD_KEEP_ALIVE_SECONDS in src/supervisor/child-command.ts. */
const KEEP_ALIVE_SECONDS = 75;

export function bareMlflowCommand(dataDir: string, port: number, workers: number): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const store = `sqlite:///${path.join(dataDir, DATABASE_FILE)}`;
  const artifacts = path.join(dataDir, "artifacts");
  mkdirSync(artifacts, { recursive: true });
  return {
    file: MLFLOW_BIN,
    args: [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      String(workers),
      "--backend-store-uri",
      store,
      "--registry-store-uri",
      store,
      "--allowed-hosts",
      `127.0.0.1:${port},localhost:${port}`,
      "--uvicorn-opts",
      `--timeout-keep-alive ${KEEP_ALIVE_SECONDS}`,
      "--serve-artifacts",
      "--artifacts-destination",
      artifacts,
    ],
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? "/tmp",
      PYTHONUNBUFFERED: "1",
      PYTHONPATH: path.join(REPO_ROOT, "python"),
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    },
  };
}

export function startBareMlflow(registry: ProcessRegistry, dataDir: string, port: number, logFile: string, workers: number): StartedProcess {
  const { file, args, env } = bareMlflowCommand(dataDir, port, workers);
  return registry.start("bare mlflow server", file, args, { env, logFile });
}
