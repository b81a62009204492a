import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { UserSpec, WorkspaceEmulator } from "../emulator/index.js";
import { ucAdmin } from "../emulator/uc-admin.js";

/** The digest key of Databricks-mode tests (a test value, not a secret). */
export const TEST_AUDIT_KEY = "test-audit-digest-key-0123456789abcdef";

/** The workspace admin of every Databricks-mode test: sets up what the app needs, as a real admin would. */
export const WORKSPACE_ADMIN = "admin@example.com";

/** Users of a test workspace: the given people, plus the workspace admin. */
export function workspaceUsers(...userNames: string[]): UserSpec[] {
  return [{ userName: WORKSPACE_ADMIN, groups: ["admins"] }, ...userNames.map((userName) => ({ userName }))];
}

export interface AppGrants {
  /** "catalog.schema" where the app registers models (USE CATALOG, USE SCHEMA, CREATE MODEL). */
  modelSchema?: string;
  /** "catalog.schema.volume" of the audit trail (READ VOLUME, WRITE VOLUME). */
  auditVolume?: string;
}

/**
 * What a workspace admin grants the app's service principal before the first deploy, through
 * the workspace's own REST API (the same grants docs/deploy.md lists): Unity Catalog privileges to
 * register models and to write the audit volume. Experiments need no grant: the gateway
 * creates its folder under /Shared, where every principal may create folders.
 */
export async function grantAppAccess(workspace: WorkspaceEmulator, grants: AppGrants): Promise<void> {
  const admin = await ucAdmin(workspace, WORKSPACE_ADMIN);
  const sp = workspace.servicePrincipal.applicationId;
  if (grants.modelSchema !== undefined) await admin.allowModels(grants.modelSchema, sp);
  if (grants.auditVolume !== undefined) await admin.allowVolume(grants.auditVolume, sp, "write");
}

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
