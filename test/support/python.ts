import path from "node:path";
import { execa } from "execa";
import { REPO_ROOT } from "./gateway-process.js";

export const PYTHON = path.join(REPO_ROOT, ".venv/bin/python");

/** Runs a script from test/python with the project's virtualenv and parses its JSON output. */
export async function runPythonJson<T>(script: string, args: string[], env: Record<string, string> = {}): Promise<T> {
  const result = await execa(PYTHON, [path.join(REPO_ROOT, "test/python", script), ...args], {
    env: { PYTHONWARNINGS: "ignore", MLFLOW_HTTP_REQUEST_MAX_RETRIES: "3", MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "1", ...env },
    reject: false,
  });
  if (result.exitCode !== 0) throw new Error(`${script} failed (${String(result.exitCode)}):\n${result.stderr.slice(-4_000)}`);
  const lastLine = result.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(lastLine) as T;
}
