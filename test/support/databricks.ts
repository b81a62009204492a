import type { WorkspaceEmulator } from "../emulator/index.js";

/** Gateway environment for Databricks mode against the emulator, as Databricks Apps would set it. */
export function databricksEnv(workspace: WorkspaceEmulator, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    MLFLOW_TRACKING_URI: "databricks",
    MLFLOW_REGISTRY_URI: "databricks-uc",
    DATABRICKS_HOST: workspace.url,
    DATABRICKS_CLIENT_ID: workspace.servicePrincipal.applicationId,
    DATABRICKS_CLIENT_SECRET: workspace.servicePrincipal.secret,
    GATEWAY_LISTEN_HOST: "127.0.0.1",
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
