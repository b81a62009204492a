import { auditString, type AuditObjects } from "./audit-event.js";

type Field = readonly [keyof AuditObjects, readonly string[]];

/**
 * Request fields that name the same kind of object in every operation. MLflow uses several
 * spellings over its API versions (run_id and the older run_uuid, key paths for artifacts).
 */
const COMMON_FIELDS: readonly Field[] = [
  ["experiment_id", ["experiment_id"]],
  ["run_id", ["run_id", "run_uuid"]],
  ["artifact_path", ["path", "artifact_path"]],
  ["logged_model_id", ["model_id"]],
  ["trace_id", ["trace_id", "request_id"]],
];

/**
 * `name`, `version` and `alias` are MLflow's fields for many kinds of object: experiments,
 * logged models, scorers, datasets, webhooks, AI-gateway endpoints, MCP servers. They name a
 * registered model, its version and its alias only in the model registry's operations
 * (mlflow/protos/model_registry.proto) and the model-version file view
 * (mlflow/server/handlers.py get_model_version_artifact_handler). MLflow keeps prompts as
 * registered models (mlflow/store/model_registry/abstract_store.py create_prompt), so a
 * prompt's calls are among these and name it as `model_name`.
 */
const REGISTRY_FIELDS: readonly Field[] = [
  ["model_name", ["name"]],
  ["version", ["version"]],
  ["alias", ["alias"]],
];

/**
 * The operations whose `name` is a registered model's. test/unit/audit/audit-objects.test.ts
 * fails when the installed MLflow's registry gains an operation that is not listed here.
 */
export const REGISTERED_MODEL_OPERATIONS: ReadonlySet<string> = new Set([
  "CreateRegisteredModel",
  "GetRegisteredModel",
  "UpdateRegisteredModel",
  "RenameRegisteredModel",
  "DeleteRegisteredModel",
  "GetLatestVersions",
  "SetRegisteredModelTag",
  "DeleteRegisteredModelTag",
  "SetRegisteredModelAlias",
  "DeleteRegisteredModelAlias",
  "GetModelVersionByAlias",
  "CreateModelVersion",
  "GetModelVersion",
  "UpdateModelVersion",
  "DeleteModelVersion",
  "TransitionModelVersionStage",
  "GetModelVersionDownloadUri",
  "SetModelVersionTag",
  "DeleteModelVersionTag",
  "ServeModelVersionArtifact",
]);

/**
 * Where the experiment's name is in the calls that name an experiment by it (for a rename,
 * the new name). A logged model's `name` is left out: MLflow does not keep it unique (most are
 * called "model"), and the id that names one is in `logged_model_id`.
 */
const EXPERIMENT_NAME_FIELD: ReadonlyMap<string, string> = new Map([
  ["CreateExperiment", "name"],
  ["UpdateExperiment", "new_name"],
  ["GetExperimentByName", "experiment_name"],
]);

/** The tags/params arrays whose keys (never values) the audit keeps. */
const KEYED_LISTS = ["params", "tags"];

/**
 * Objects named by a call, where MLflow reads them: path parameters first; then, for GET
 * (and HEAD), the query before the JSON body, and for every other method the body before
 * the query (MLflow's _get_request_message reads the query only for a GET with one; the
 * few handlers that read the query of a POST, the UI's upload, send no JSON body). A
 * POST naming one run in its body and another in its query is audited with the body's,
 * which is the one MLflow acts on (test/integration/differential-parsing.test.ts found it).
 * `operation` (MLflow's name for the call; undefined when no route matched) decides what
 * a `name` field means. Only scalar identifiers are taken; nothing else of the body.
 */
export function extractObjects(sources: {
  operation: string | undefined;
  method?: string;
  pathParams?: Record<string, string>;
  query?: URLSearchParams;
  body?: Record<string, unknown>;
}): {
  objects: AuditObjects;
  writtenKeys: string[];
} {
  const objects: AuditObjects = {};
  const queryFirst = sources.method === undefined || sources.method === "GET" || sources.method === "HEAD";
  for (const [field, names] of fieldsOf(sources.operation)) {
    for (const name of names) {
      const fromQuery = sources.query?.get(name) ?? undefined;
      const fromBody = scalar(sources.body?.[name]);
      const value = sources.pathParams?.[name] ?? (queryFirst ? (fromQuery ?? fromBody) : (fromBody ?? fromQuery));
      if (value !== undefined && value !== null && value !== "") {
        objects[field] = auditString(value);
        break;
      }
    }
  }
  if (objects.artifact_path === undefined && sources.pathParams?.["artifact_path"] !== undefined) {
    objects.artifact_path = auditString(sources.pathParams["artifact_path"]);
  }
  const writtenKeys: string[] = [];
  for (const list of KEYED_LISTS) {
    const entries = sources.body?.[list];
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      const key = (entry as { key?: unknown } | null)?.key;
      if (typeof key === "string") writtenKeys.push(auditString(key, 256));
    }
  }
  if (typeof sources.body?.["key"] === "string") writtenKeys.push(auditString(sources.body["key"], 256));
  return { objects, writtenKeys };
}

function fieldsOf(operation: string | undefined): readonly Field[] {
  if (operation === undefined) return COMMON_FIELDS;
  const fields = [...COMMON_FIELDS];
  if (REGISTERED_MODEL_OPERATIONS.has(operation)) fields.push(...REGISTRY_FIELDS);
  const experimentName = EXPERIMENT_NAME_FIELD.get(operation);
  if (experimentName !== undefined) fields.push(["experiment_name", [experimentName]]);
  return fields;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}
