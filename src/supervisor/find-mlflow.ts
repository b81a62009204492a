import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";
import { GatewayError } from "../errors.js";

export interface FindMlflowOptions {
  /** GATEWAY_MLFLOW_BIN, when the operator names the executable. */
  explicit: string | undefined;
  /** The repository root, whose `.venv` the local setup creates. */
  repoRoot: string;
  /** PATH, where Databricks Apps' pip install puts `mlflow`. */
  pathEnv: string | undefined;
}

/**
 * Finds the `mlflow` executable: the explicit one, else the project virtualenv, else
 * PATH. When nothing fits, the error lists every place that was tried.
 */
export function findMlflow(options: FindMlflowOptions): string {
  const tried: string[] = [];
  if (options.explicit !== undefined) {
    const explicit = path.resolve(options.explicit);
    if (isExecutableFile(explicit)) return explicit;
    throw new GatewayError(
      "MLFLOW_NOT_FOUND",
      `GATEWAY_MLFLOW_BIN=${explicit} is not an executable file. Fix: point it at the mlflow executable of a virtualenv that has the package from requirements.txt, or unset it.`,
    );
  }
  const candidates = [
    path.join(options.repoRoot, ".venv", "bin", "mlflow"),
    ...(options.pathEnv ?? "")
      .split(path.delimiter)
      .filter((dir) => dir !== "")
      .map((dir) => path.join(dir, "mlflow")),
  ];
  for (const candidate of candidates) {
    tried.push(candidate);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new GatewayError(
    "MLFLOW_NOT_FOUND",
    `Could not find the mlflow executable. Looked for: ${tried.join(", ")}. Fix: run 'npm run setup' (creates .venv from requirements.txt), 'pip install -r requirements.txt', or set GATEWAY_MLFLOW_BIN.`,
  );
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
