import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { WorkspaceEmulator } from "../emulator/index.js";

/** The digest key of Databricks-mode tests (a test value, not a secret). */
export const TEST_AUDIT_KEY = "test-audit-digest-key-0123456789abcdef";

/** Gateway environment for Databricks mode against the emulator, as Databricks Apps would set it. */
export function databricksEnv(workspace: WorkspaceEmulator, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    MLFLOW_TRACKING_URI: "databricks",
    MLFLOW_REGISTRY_URI: "databricks-uc",
    DATABRICKS_HOST: workspace.url,
    DATABRICKS_CLIENT_ID: workspace.servicePrincipal.applicationId,
    DATABRICKS_CLIENT_SECRET: workspace.servicePrincipal.secret,
    GATEWAY_LISTEN_HOST: "127.0.0.1",
    // Databricks mode requires a digest key from a secret, and audit files go to a test folder.
    GATEWAY_AUDIT_HMAC_KEY: TEST_AUDIT_KEY,
    GATEWAY_AUDIT_DIR: mkdtempSync(path.join(tmpdir(), "gateway-audit-")),
    ...overrides,
  };
}

/** Unity Catalog refuses models without a signature; this is the smallest valid MLmodel. */
export const MLMODEL_WITH_SIGNATURE = `artifact_path: model
flavors:
  python_function:
    env:
      virtualenv: python_env.yaml
    loader_module: mlflow.pyfunc.model
    python_version: 3.11.7
mlflow_version: 3.17.2
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}]'
  outputs: '[{"type": "double", "required": true}]'
  params: null
`;
