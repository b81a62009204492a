import { GatewayError } from "../errors.js";

/**
 * Where artifacts live, as Databricks reports it and as the app's clients are shown it.
 *
 * Databricks answers run, logged-model and experiment locations as
 * `dbfs:/databricks/mlflow-tracking/<experiment>/...`, which a client would try to reach
 * with Databricks credentials of its own, past the gateway. Clients are shown the same
 * path under MLflow's proxied scheme instead (`mlflow-artifacts:/databricks/...`), which
 * MLflow's client resolves to `<tracking URI>/api/2.0/mlflow-artifacts/artifacts/...`,
 * the app. The mapping is a prefix swap: consistent, reversible, and nothing stored in
 * Databricks changes. A Unity Catalog model version's files are shown as
 * `mlflow-artifacts:/unity-catalog/models/<catalog.schema.model>/<version>`.
 */

const DATABRICKS_PREFIX = "dbfs:/databricks/mlflow-tracking/";
const CLIENT_PREFIX = "mlflow-artifacts:/databricks/mlflow-tracking/";
/** The artifact path (below /api/2.0/mlflow-artifacts/artifacts/) of tracking artifacts. */
export const TRACKING_ARTIFACTS_ROOT = "databricks/mlflow-tracking";
/** The artifact path of Unity Catalog model versions' files. */
export const MODEL_VERSIONS_ROOT = "unity-catalog/models";

/** The tag of a trace's TraceInfo that holds where its data is (mlflow/tracing/constant.py TraceTagKey.ARTIFACT_LOCATION... as stored). */
export const TRACE_LOCATION_TAG = "mlflow.artifactLocation";

/**
 * JSON fields (snake case for REST, camel case for GraphQL) that hold an artifact location,
 * and the trace tag, which v3 TraceInfo answers carry as a key of their `tags` map.
 */
export const LOCATION_FIELDS: ReadonlySet<string> = new Set([
  "artifact_uri",
  "artifact_location",
  "source",
  "root_uri",
  "artifactUri",
  "artifactLocation",
  TRACE_LOCATION_TAG,
]);

/** A Databricks location as clients see it; anything else unchanged. */
export function toClientLocation(value: string): string {
  return value.startsWith(DATABRICKS_PREFIX) ? CLIENT_PREFIX + value.slice(DATABRICKS_PREFIX.length) : value;
}

/** A location a client sent back (a model version's source), as Databricks knows it. */
export function toDatabricksLocation(value: string): string {
  return value.startsWith(CLIENT_PREFIX) ? DATABRICKS_PREFIX + value.slice(CLIENT_PREFIX.length) : value;
}

/** Where a client downloads a Unity Catalog model version's files from. */
export function modelVersionLocation(name: string, version: string): string {
  return `mlflow-artifacts:/${MODEL_VERSIONS_ROOT}/${name}/${version}`;
}

/**
 * Rewrites every location field of a JSON answer, at any depth. Returns undefined when
 * nothing changed, so the original bytes can be sent.
 */
export function rewriteLocations(value: unknown, map: (location: string) => string): unknown {
  let changed = false;
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) {
      let copy: unknown[] | undefined;
      node.forEach((item, index) => {
        const next = walk(item);
        if (next !== item) {
          copy ??= [...(node as unknown[])];
          copy[index] = next;
        }
      });
      return copy ?? node;
    }
    if (node === null || typeof node !== "object") return node;
    let copy: Record<string, unknown> | undefined;
    // v2 TraceInfo answers carry tags as a list of {key, value}.
    const entry = node as { key?: unknown; value?: unknown };
    if (entry.key === TRACE_LOCATION_TAG && typeof entry.value === "string") {
      const mapped = map(entry.value);
      if (mapped !== entry.value) {
        changed = true;
        return { ...(node as Record<string, unknown>), value: mapped };
      }
    }
    for (const [key, item] of Object.entries(node)) {
      let next: unknown;
      if (typeof item === "string" && LOCATION_FIELDS.has(key)) next = map(item);
      else next = typeof item === "object" ? walk(item) : item;
      if (next !== item) {
        copy ??= { ...(node as Record<string, unknown>) };
        copy[key] = next;
        changed = true;
      }
    }
    return copy ?? node;
  };
  const result = walk(value);
  return changed ? result : undefined;
}

/** What an artifact path below /api/2.0/mlflow-artifacts/artifacts/ names. */
export type ArtifactTarget =
  | { kind: "run"; experimentId: string; runId: string; path: string }
  | { kind: "logged-model"; experimentId: string; modelId: string; path: string }
  | { kind: "trace"; experimentId: string; traceId: string; path: string }
  | { kind: "model-version"; name: string; version: string; path: string };

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** MLflow's trace ids (TRACE_REQUEST_ID_PREFIX "tr-"); Databricks puts one where a run id would be. */
const TRACE_ID = /^tr-[A-Za-z0-9_-]{1,64}$/;
const MODEL_NAME = /^[^./\s]{1,255}\.[^./\s]{1,255}\.[^./\s]{1,255}$/;

/**
 * Checks one artifact path the way MLflow's validate_path_is_safe does, and stricter:
 * no empty, `.` or `..` segment, no backslash, `#`, control character or leftover
 * percent-encoding (a path decoded twice could turn into `..`), not absolute.
 */
export function checkArtifactPath(path: string, field = "artifact path"): string {
  const problem = (why: string): GatewayError => new GatewayError("PATH_REJECTED", `The ${field} ${JSON.stringify(path.slice(0, 200))} ${why}.`);
  if (path.startsWith("/")) throw problem("is absolute; artifact paths are relative");
  if (/[\u0000-\u001f\u007f\\#]/.test(path)) throw problem("contains a backslash, '#' or a control character");
  if (/%[0-9A-Fa-f]{2}/.test(path)) throw problem("is percent-encoded twice");
  if (/^[A-Za-z]:/.test(path)) throw problem("looks like a Windows drive path");
  const segments = path.split("/");
  for (const [index, segment] of segments.entries()) {
    if (segment === "." || segment === "..") throw problem("contains a '.' or '..' segment");
    if (segment === "" && !(index === segments.length - 1 && index > 0)) throw problem("contains an empty segment ('//')");
  }
  return path.replace(/\/$/, "");
}

/**
 * Reads what an artifact path names. Run and logged-model paths carry their experiment,
 * which the caller must check against the object itself: the path proves nothing.
 */
export function parseArtifactTarget(artifactPath: string): ArtifactTarget {
  const path = checkArtifactPath(artifactPath);
  const segments = path.split("/");
  const unknown = (): GatewayError =>
    new GatewayError(
      "PATH_REJECTED",
      `The artifact path ${JSON.stringify(path.slice(0, 200))} names no run, logged model or model version of this app: artifact locations come from the run, logged model or model version (mlflow-artifacts:/${TRACKING_ARTIFACTS_ROOT}/... or mlflow-artifacts:/${MODEL_VERSIONS_ROOT}/...).`,
    );
  if (segments[0] === "databricks" && segments[1] === "mlflow-tracking") {
    const [, , experimentId, second, third, fourth, ...rest] = segments;
    if (experimentId === undefined || !/^\d{1,20}$/.test(experimentId) || second === undefined) throw unknown();
    if (second === "logged_models") {
      if (third === undefined || !ID.test(third) || fourth !== "artifacts") throw unknown();
      return { kind: "logged-model", experimentId, modelId: third, path: rest.join("/") };
    }
    if (!ID.test(second) || third !== "artifacts") throw unknown();
    if (TRACE_ID.test(second))
      return { kind: "trace", experimentId, traceId: second, path: [fourth, ...rest].filter((s) => s !== undefined).join("/") };
    return { kind: "run", experimentId, runId: second, path: [fourth, ...rest].filter((s) => s !== undefined).join("/") };
  }
  if (segments[0] === "unity-catalog" && segments[1] === "models") {
    const [, , name, version, ...rest] = segments;
    if (name === undefined || !MODEL_NAME.test(name) || version === undefined || !/^\d{1,10}$/.test(version)) throw unknown();
    return { kind: "model-version", name, version, path: rest.join("/") };
  }
  throw unknown();
}

/** The workspace folder of a run's or logged model's artifacts (MLflow's Databricks artifact repositories). */
export function workspaceRoot(target: Extract<ArtifactTarget, { kind: "run" | "logged-model" }>): string {
  return target.kind === "run"
    ? `/WorkspaceInternal/Mlflow/Artifacts/${target.experimentId}/Runs/${target.runId}/artifacts`
    : `/WorkspaceInternal/Mlflow/Artifacts/${target.experimentId}/LoggedModels/${target.modelId}/artifacts`;
}

/** The Databricks location the target's object must report for the path to be its own. */
export function databricksRoot(target: Extract<ArtifactTarget, { kind: "run" | "logged-model" | "trace" }>): string {
  if (target.kind === "run") return `${DATABRICKS_PREFIX}${target.experimentId}/${target.runId}/artifacts`;
  if (target.kind === "trace") return `${DATABRICKS_PREFIX}${target.experimentId}/${target.traceId}/artifacts`;
  return `${DATABRICKS_PREFIX}${target.experimentId}/logged_models/${target.modelId}/artifacts`;
}
