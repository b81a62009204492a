import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./gateway-process.js";

const VARIABLE = /"((?:GATEWAY|DATABRICKS|MLFLOW)_[A-Z0-9_]+|PORT)"/g;

/**
 * Every environment variable the gateway reads: the configuration module, and the log format,
 * which is chosen before the configuration is read so its own problems print readably.
 */
export function gatewayVariables(): Set<string> {
  const files = [
    ...readdirSync(path.join(REPO_ROOT, "src/config"))
      .filter((file) => file.endsWith(".ts"))
      .map((file) => `src/config/${file}`),
    "src/log/log-format.ts",
  ];
  return new Set(files.flatMap((file) => [...readFileSync(path.join(REPO_ROOT, file), "utf8").matchAll(VARIABLE)].map((m) => m[1] ?? "")));
}
