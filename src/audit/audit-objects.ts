import { auditString, type AuditObjects } from "./audit-event.js";

/**
 * Which request fields name which object. MLflow uses several spellings over its API
 * versions (run_id and the older run_uuid, name for models, key paths for artifacts).
 */
const FIELDS: ReadonlyArray<[keyof AuditObjects, readonly string[]]> = [
  ["experiment_id", ["experiment_id"]],
  ["run_id", ["run_id", "run_uuid"]],
  ["model_name", ["name"]],
  ["version", ["version"]],
  ["alias", ["alias"]],
  ["artifact_path", ["path", "artifact_path"]],
  ["logged_model_id", ["model_id"]],
  ["trace_id", ["trace_id", "request_id"]],
];

/** The tags/params arrays whose keys (never values) the audit keeps. */
const KEYED_LISTS = ["params", "tags"];

/**
 * Objects named by a call, where MLflow reads them: path parameters first; then, for GET
 * (and HEAD), the query before the JSON body, and for every other method the body before
 * the query (MLflow's _get_request_message reads the query only for a GET with one; the
 * few handlers that read the query of a POST, the UI's upload, send no JSON body). A
 * POST naming one run in its body and another in its query is audited with the body's,
 * which is the one MLflow acts on (test/integration/differential-parsing.test.ts found it).
 * Only scalar identifiers are taken; nothing else of the body.
 */
export function extractObjects(sources: {
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
  for (const [field, names] of FIELDS) {
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

function scalar(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}
