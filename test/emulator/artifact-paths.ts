// Where MLflow's Databricks artifact repositories expect tracking artifacts.
// Installed MLflow (databricks_run_artifact_repo.py and
// databricks_logged_model_artifact_repo.py) maps
//   dbfs:/databricks/mlflow-tracking/<exp>/<run>/<rest>
//     -> /WorkspaceInternal/Mlflow/Artifacts/<exp>/Runs/<run>/<rest>
//   dbfs:/databricks/mlflow-tracking/<exp>/logged_models/<model>/<rest>
//     -> /WorkspaceInternal/Mlflow/Artifacts/<exp>/LoggedModels/<model>/<rest>
// for the Files API; the credential endpoints address the same bytes by run
// or model id, so both routes must land on one workspace path.

import { normalizeWorkspacePath } from "./blob-store.js";

export const TRACKING_ROOT = "dbfs:/databricks/mlflow-tracking";

/**
 * The open-source server stores logged models under <exp>/models/<id>; a
 * Databricks workspace reports <exp>/logged_models/<id>. Rewriting keeps
 * MLflow's client on the Databricks logged-model repository.
 */
export function toDatabricksLoggedModelUris(text: string): string {
  return text.replace(/(dbfs:\/databricks\/mlflow-tracking\/[^/"\s]+)\/models\/(m-[0-9a-f]+)/g, "$1/logged_models/$2");
}

/** Workspace path for a dbfs:/databricks/mlflow-tracking URI, or undefined. */
export function workspacePathForTrackingUri(uri: string): string | undefined {
  const m = /^dbfs:\/databricks\/mlflow-tracking\/([^/]+)\/(.+)$/.exec(uri.replace(/\/+$/, ""));
  if (!m || !m[1] || !m[2]) return undefined;
  const exp = m[1];
  const [first, second, ...rest] = m[2].split("/");
  if (!first) return undefined;
  if ((first === "logged_models" || first === "models") && second) {
    return normalizeWorkspacePath(`/WorkspaceInternal/Mlflow/Artifacts/${exp}/LoggedModels/${second}/${rest.join("/")}`);
  }
  const tail = [second, ...rest].filter((s) => s !== undefined).join("/");
  return normalizeWorkspacePath(`/WorkspaceInternal/Mlflow/Artifacts/${exp}/Runs/${first}/${tail}`);
}

/** Joins an artifact-relative path onto a workspace root, refusing escapes. */
export function joinArtifactPath(root: string, relative: string | undefined): string {
  if (!relative) return root;
  return normalizeWorkspacePath(`${root}/${relative}`);
}

/** Path of `full` relative to `root` ("" for the root itself). */
export function relativeTo(root: string, full: string): string {
  const r = root.replace(/\/+$/, "");
  const f = full.replace(/\/+$/, "");
  if (f === r) return "";
  return f.startsWith(`${r}/`) ? f.slice(r.length + 1) : f;
}

/** Workspace folder of a UC model version: /Models/<catalog>/<schema>/<model>/<version>. */
export function ucModelVersionPath(fullName: string, version: string): string {
  return normalizeWorkspacePath(`/Models/${fullName.split(".").join("/")}/${version}`);
}
