// Shape translation between open-source MLflow registry objects and the
// Unity Catalog registry messages of databricks_uc_registry_messages.proto.
// UC-only facts (who created an object, PENDING_REGISTRATION until finalize,
// the source run's experiment) are kept as reserved tags on the open-source
// objects, so all state stays in the backing MLflow server; these tags are
// hidden from callers.

export const EMU_TAG_PREFIX = "databricks.emulator.";
export const TAG_USER = `${EMU_TAG_PREFIX}user_id`;
export const TAG_STATUS = `${EMU_TAG_PREFIX}status`;
export const TAG_RUN_EXPERIMENT = `${EMU_TAG_PREFIX}run_experiment_id`;
export const TAG_TRACKING_SERVER = `${EMU_TAG_PREFIX}run_tracking_server_id`;
// The open-source SQL registry accepts model_id on create but does not keep it.
export const TAG_MODEL_ID = `${EMU_TAG_PREFIX}model_id`;

type Json = Record<string, unknown>;
interface Tag {
  key: string;
  value: string;
}

function tagsOf(obj: Json): Tag[] {
  return Array.isArray(obj.tags) ? (obj.tags as Tag[]) : [];
}

function reserved(obj: Json, key: string): string | undefined {
  return tagsOf(obj).find((t) => t.key === key)?.value;
}

function visibleTags(obj: Json): Tag[] {
  return tagsOf(obj).filter((t) => !t.key.startsWith(EMU_TAG_PREFIX));
}

/** A JSON scalar as a string ("" for anything else). */
export function scalar(value: unknown): string {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : "";
}

/** Drops undefined and empty values, as proto3 JSON does. */
function compact(obj: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

/** Three-level name check; message keeps the phrase MLflow's client looks for. */
export function threeLevelNameError(name: unknown): string | undefined {
  if (typeof name !== "string" || name === "") return "Missing required field: name";
  const parts = name.split(".");
  if (parts.length !== 3 || parts.some((p) => p === "")) {
    return `Invalid registered model name '${name}'. Please specify all three levels (catalog.schema.model) of the model name, e.g. 'main.default.my_model'.`;
  }
  return undefined;
}

export function ucRegisteredModel(oss: Json): Json {
  return compact({
    name: oss.name,
    creation_timestamp: oss.creation_timestamp,
    last_updated_timestamp: oss.last_updated_timestamp,
    user_id: reserved(oss, TAG_USER) ?? oss.user_id,
    description: oss.description,
    aliases: Array.isArray(oss.aliases) ? oss.aliases : [],
    tags: visibleTags(oss),
  });
}

export function ucModelVersion(oss: Json, storageLocation: (name: string, version: string) => string): Json {
  const name = scalar(oss.name);
  const version = scalar(oss.version);
  const aliases = Array.isArray(oss.aliases) ? (oss.aliases as string[]) : [];
  return compact({
    name,
    version,
    creation_timestamp: oss.creation_timestamp,
    last_updated_timestamp: oss.last_updated_timestamp,
    user_id: reserved(oss, TAG_USER) ?? oss.user_id,
    description: oss.description,
    source: oss.source,
    run_id: oss.run_id,
    run_experiment_id: reserved(oss, TAG_RUN_EXPERIMENT),
    run_tracking_server_id: reserved(oss, TAG_TRACKING_SERVER),
    status: reserved(oss, TAG_STATUS) ?? "READY",
    status_message: oss.status_message,
    storage_location: storageLocation(name, version),
    aliases: aliases.map((alias) => ({ alias, version })),
    tags: visibleTags(oss),
    model_id: oss.model_id || reserved(oss, TAG_MODEL_ID),
  });
}

/** Tags for a new object: the caller's plus the emulator's reserved ones. */
export function withReservedTags(tags: unknown, reservedTags: Record<string, string | undefined>): Tag[] {
  const given = Array.isArray(tags) ? (tags as Tag[]).filter((t) => !String(t.key).startsWith(EMU_TAG_PREFIX)) : [];
  const extra = Object.entries(reservedTags)
    .filter((e): e is [string, string] => typeof e[1] === "string" && e[1] !== "")
    .map(([key, value]) => ({ key, value }));
  return [...given, ...extra];
}
