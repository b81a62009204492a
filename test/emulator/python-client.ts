// Runs a snippet of Python with the real MLflow client pointed at an
// emulator, the way a user's notebook or the gateway's `mlflow server` child
// would reach Databricks: MLFLOW_TRACKING_URI=databricks,
// MLFLOW_REGISTRY_URI=databricks-uc and DATABRICKS_* credentials. Lets tests
// prove the emulator against MLflow's own Databricks code paths.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { WorkspaceEmulator } from "./types.js";

const DEFAULT_PYTHON = process.env.MLFLOW_PYTHON ?? path.resolve(import.meta.dirname, "../../.venv/bin/python");

/** Which credentials the Python process presents. */
export type PythonAuth =
  { kind: "service-principal" } | { kind: "token"; token: string } | { kind: "client-secret"; clientId: string; clientSecret: string };

export interface PythonRunOptions {
  auth?: PythonAuth;
  env?: Record<string, string>;
  timeoutMs?: number;
  python?: string;
}

export interface PythonRunResult {
  /** Parsed from the last line that starts with "RESULT ". */
  result: unknown;
  stdout: string;
  stderr: string;
}

/**
 * Prepended to every script: `emit(obj)` prints the RESULT line the runner
 * parses, so scripts can print freely otherwise.
 */
const PRELUDE = `
import json as _json, sys as _sys
def emit(obj):
    _sys.stdout.write("RESULT " + _json.dumps(obj, default=str) + "\\n")
    _sys.stdout.flush()
`;

export async function runMlflowPython(emulator: WorkspaceEmulator, script: string, options: PythonRunOptions = {}): Promise<PythonRunResult> {
  const auth = options.auth ?? { kind: "service-principal" };
  const credentials: Record<string, string> =
    auth.kind === "token"
      ? { DATABRICKS_TOKEN: auth.token }
      : auth.kind === "client-secret"
        ? { DATABRICKS_CLIENT_ID: auth.clientId, DATABRICKS_CLIENT_SECRET: auth.clientSecret }
        : {
            DATABRICKS_CLIENT_ID: emulator.servicePrincipal.applicationId,
            DATABRICKS_CLIENT_SECRET: emulator.servicePrincipal.secret,
          };
  const dir = await mkdtemp(path.join(tmpdir(), "emulator-py-"));
  const file = path.join(dir, "script.py");
  await writeFile(file, `${PRELUDE}\n${script}\n`);
  try {
    const child = await execa(options.python ?? DEFAULT_PYTHON, [file], {
      cwd: dir,
      reject: false,
      timeout: options.timeoutMs ?? 120_000,
      // A clean environment: no ~/.databrickscfg profile or caller token may leak in.
      extendEnv: false,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        DATABRICKS_HOST: emulator.url,
        MLFLOW_TRACKING_URI: "databricks",
        MLFLOW_REGISTRY_URI: "databricks-uc",
        // Keep failing tests fast: MLflow otherwise retries for minutes.
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: "2",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "1",
        MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT: "20",
        PYTHONWARNINGS: "ignore",
        ...credentials,
        ...options.env,
      },
    });
    const stdout = String(child.stdout);
    const stderr = String(child.stderr);
    if (child.exitCode !== 0) {
      throw new Error(`python exited with ${String(child.exitCode)}:\n${stdout}\n${stderr.slice(-4000)}`);
    }
    const line = stdout
      .split("\n")
      .reverse()
      .find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`python printed no RESULT line:\n${stdout}\n${stderr.slice(-4000)}`);
    return { result: JSON.parse(line.slice(7)) as unknown, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
