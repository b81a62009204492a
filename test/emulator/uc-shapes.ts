// CatalogInfo, SchemaInfo and VolumeInfo as a metastore fills them in
// (databricks-sdk 0.167.0 service/catalog.py:1118-1224, :11587-11642,
// :13829-13882): names lower-case, the creator as owner, times in epoch
// milliseconds, and a managed storage location under the workspace's
// default storage.

import type { EmulatorContext } from "./context.js";
import type { Json } from "./uc-http.js";
import type { SecurableInfo } from "./uc-securables.js";
import { scalar, ucModelVersion } from "./uc-translate.js";

/** The (fake) default storage bucket, as model-storage.ts names it too. */
const STORAGE = "s3://databricks-workspace-emulator";

export function renderSecurable(ctx: EmulatorContext, o: SecurableInfo): Json {
  const parts = o.fullName.split(".");
  const common = {
    name: parts[parts.length - 1],
    full_name: o.fullName,
    owner: o.owner,
    comment: o.comment,
    properties: o.properties,
    metastore_id: ctx.unityCatalog.store.metastoreId,
    created_at: o.createdAt,
    created_by: o.createdBy,
    updated_at: o.updatedAt,
    updated_by: o.updatedBy,
    browse_only: false,
  };
  const root = `${STORAGE}/${ctx.workspaceId}/__unitystorage`;
  if (o.kind === "CATALOG") {
    return {
      ...common,
      catalog_type: "MANAGED_CATALOG",
      securable_type: "CATALOG",
      isolation_mode: "OPEN",
      storage_location: `${root}/catalogs/${o.id}`,
    };
  }
  if (o.kind === "SCHEMA") {
    return { ...common, catalog_name: parts[0], schema_id: o.id, catalog_type: "MANAGED_CATALOG", storage_location: `${root}/schemas/${o.id}` };
  }
  return {
    ...common,
    catalog_name: parts[0],
    schema_name: parts[1],
    volume_id: o.id,
    volume_type: o.volumeType,
    storage_location: o.storageLocation ?? `${root}/volumes/${o.id}`,
  };
}

// ---- Registered models and model versions of the 2.1 API ----
// RegisteredModelInfo (catalog.py:11419-11460) and ModelVersionInfo
// (:9201-9245) from the backing server's registry objects: `name` is the
// last part only, `full_name` the three-level name; times in epoch
// milliseconds; `version` an integer; aliases as RegisteredModelAlias
// {alias_name, version_num} (:11352-11369), only when include_aliases asks
// (get, :19509-19510; versions :18247, :18285) and never in version lists ("The elements in the
// response will not contain any aliases or tags", ModelVersionsAPI.list).

/** Drops undefined values, as the server omits unset fields. */
function present(obj: Json): Json {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null && v !== ""));
}

function ossAliases(oss: Json): { alias: string; version: string }[] {
  const raw = Array.isArray(oss.aliases) ? (oss.aliases as unknown[]) : [];
  // Registered models carry {alias, version}; model versions a plain list of alias names.
  return raw.map((a) =>
    typeof a === "string" ? { alias: a, version: scalar(oss.version) } : { alias: scalar((a as Json).alias), version: scalar((a as Json).version) },
  );
}

function aliasInfos(oss: Json, fullName: string): Json[] {
  const [catalog, schema, model] = fullName.split(".");
  return ossAliases(oss).map((a) => ({
    alias_name: a.alias,
    version_num: Number(a.version),
    catalog_name: catalog,
    schema_name: schema,
    model_name: model,
  }));
}

/**
 * A model's storage root. The storages name each version's folder below its
 * model's (default storage .../Models/c/s/m/<v>, S3 .../models/c/s/m/<v>,
 * Azure likewise), so the root is a version's location without the version.
 */
function modelStorageLocation(ctx: EmulatorContext, fullName: string): string {
  return ctx.modelStorage.storageLocation(fullName, "1").replace(/\/1$/, "");
}

export function renderRegisteredModel(ctx: EmulatorContext, oss: Json, owner: string, options: { includeAliases: boolean }): Json {
  const fullName = scalar(oss.name);
  const [catalog, schema, model] = fullName.split(".");
  const aliases = options.includeAliases ? aliasInfos(oss, fullName) : [];
  return present({
    name: model,
    catalog_name: catalog,
    schema_name: schema,
    full_name: fullName,
    owner,
    comment: oss.description,
    metastore_id: ctx.unityCatalog.store.metastoreId,
    storage_location: modelStorageLocation(ctx, fullName),
    created_at: oss.creation_timestamp,
    created_by: owner,
    updated_at: oss.last_updated_timestamp,
    // The registry does not record who changed a model last; its owner is the best answer.
    updated_by: owner,
    ...(aliases.length > 0 ? { aliases } : {}),
  });
}

export function renderModelVersionInfo(ctx: EmulatorContext, oss: Json, options: { includeAliases: boolean }): Json {
  const uc = ucModelVersion(oss, (n, v) => ctx.modelStorage.storageLocation(n, v));
  const fullName = scalar(uc.name);
  const [catalog, schema, model] = fullName.split(".");
  const aliases = options.includeAliases ? aliasInfos(oss, fullName) : [];
  const runWorkspace = scalar(uc.run_tracking_server_id) || (uc.run_id ? ctx.workspaceId : "");
  return present({
    catalog_name: catalog,
    schema_name: schema,
    model_name: model,
    version: Number(uc.version),
    comment: uc.description,
    source: uc.source,
    run_id: uc.run_id,
    run_workspace_id: /^\d+$/.test(runWorkspace) ? Number(runWorkspace) : undefined,
    status: uc.status,
    storage_location: uc.storage_location,
    metastore_id: ctx.unityCatalog.store.metastoreId,
    created_at: uc.creation_timestamp,
    created_by: uc.user_id,
    updated_at: uc.last_updated_timestamp,
    updated_by: uc.user_id,
    ...(aliases.length > 0 ? { aliases } : {}),
  });
}
