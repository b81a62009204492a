import { GatewayError } from "../errors.js";

/**
 * On Databricks an experiment's name is its absolute workspace path, and creating one
 * needs an existing parent folder the caller manages ("Got an invalid experiment name
 * 'churn-model'. An experiment name must be an absolute path within the Databricks
 * workspace", mlflow#8269). MLflow's UI and most scripts use plain names, so the gateway
 * files a name that is not a path under one root folder (GATEWAY_EXPERIMENT_ROOT); a name
 * that is already a path is left alone.
 */
export interface ExperimentName {
  /** The workspace path Databricks sees. */
  path: string;
  /** True when the gateway put a plain name under the root folder. */
  mapped: boolean;
}

/** Databricks caps experiment names (workspace paths) at this length (MLflow: MAX_EXPERIMENT_NAME_LENGTH). */
export const MAX_EXPERIMENT_NAME_LENGTH = 500;

/** Characters that cannot be part of a workspace object name. */
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

/** Maps a client's experiment name to the workspace path; throws a 400 naming the problem. */
export function resolveExperimentName(name: unknown, root: string, field: string): ExperimentName {
  if (typeof name !== "string" || name.trim() === "") {
    throw new GatewayError("PARAMETER_REJECTED", `"${field}" must be a non-empty experiment name.`);
  }
  if (name.startsWith("/")) return { path: name, mapped: false };
  const segments = name.split("/");
  if (segments.some((s) => s.trim() === "" || s === "." || s === "..") || FORBIDDEN.test(name)) {
    throw new GatewayError(
      "PARAMETER_REJECTED",
      `"${field}" ${JSON.stringify(name.slice(0, 100))} is not a usable experiment name: use a plain name such as "churn-model" (filed under ${root}), or a full workspace path such as "${root}/churn-model".`,
    );
  }
  const path = `${root}/${segments.map((s) => s.trim()).join("/")}`;
  if (path.length > MAX_EXPERIMENT_NAME_LENGTH) {
    throw new GatewayError(
      "PARAMETER_REJECTED",
      `"${field}" is too long: under ${root} an experiment name may have at most ${MAX_EXPERIMENT_NAME_LENGTH - root.length - 1} characters.`,
    );
  }
  return { path, mapped: true };
}

/** The folder that must exist before an experiment at `path` can be created. */
export function parentFolder(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * Checks GATEWAY_EXPERIMENT_ROOT: an absolute workspace path, not the root itself and
 * not /Users (nobody may create folders there, not even admins: DIRECTORY_PROTECTED).
 * Returns the problem, or undefined when it is usable.
 */
export function experimentRootProblem(root: string): string | undefined {
  if (!root.startsWith("/")) return "is not an absolute workspace path";
  const segments = root.split("/").slice(1);
  if (segments.length === 0 || segments.some((s) => s === "" || s === "." || s === "..") || FORBIDDEN.test(root)) {
    return "is not a clean workspace folder path (no empty, '.' or '..' segments, no trailing slash)";
  }
  if (root === "/Users" || root === "/Workspace" || root === "/Workspace/Users") return "is a protected workspace folder";
  if (root.length > MAX_EXPERIMENT_NAME_LENGTH / 2) return `is longer than ${MAX_EXPERIMENT_NAME_LENGTH / 2} characters`;
  return undefined;
}
