// Who may do what with a Unity Catalog registered model. The model's owner is
// its creator, kept as a reserved tag in the backing MLflow server; its
// catalog and schema live in the emulator's metastore (uc-securables.ts).
//
// Requirements (databricks-sdk 0.167.0 service/catalog.py, RegisteredModelsAPI
// class docstring :19331-19345 and per-method docstrings):
// - every operation: USE CATALOG + USE SCHEMA (or ownership of them);
// - create: CREATE MODEL (or CREATE FUNCTION) on the schema (:19372-19378);
// - read metadata and files, list, load: owner or EXECUTE (:19337-19338, get :19501-19503, list :19546-19550);
// - tags: APPLY TAG (:19339-19340), which the owner holds;
// - comments, aliases, new versions, delete: "users must be owners of the
//   registered model" (:19341-19342, set_alias :19621-19625, update :19676-19678,
//   delete :19457-19459). The docs let MANAGE edit and drop objects too
//   (docs.databricks.com/data/manage-ownership.html) and newer AWS docs add a
//   CREATE MODEL VERSION privilege the SDK's Privilege enum does not know; the
//   emulator takes the stricter SDK reading: owner or metastore admin only.
// A missing model is "RESOURCE_DOES_NOT_EXIST: Routine or Model '<full name>'
// does not exist." and a duplicate "Routine or Model '<name>' already exists",
// as the workspace answers both the MLflow client and the SDK / CLI (quoted in
// public code and notes from real runs: `databricks registered-models get`,
// MLflow's RestException on a missing UC model, a feature-spec create).

import { type BackingResult, backingCall } from "./backing-client.js";
import type { EmulatorContext } from "./context.js";
import type { Principal } from "./principals.js";
import { UcRefusal, invalid, lacks } from "./uc-privileges.js";
import { type SecurableRef, ucName } from "./uc-securables.js";
import { TAG_USER, threeLevelNameError } from "./uc-translate.js";

type Json = Record<string, unknown>;
export type ModelNeed = "read" | "owner" | "tag";

/** A three-level model name, checked and lower-cased ("Main.Default.MyModel" -> "main.default.mymodel"). */
export function ucModelName(raw: unknown): string {
  const error = threeLevelNameError(raw);
  if (error) throw invalid(error);
  return String(raw)
    .split(".")
    .map((part) => ucName(part, "name"))
    .join(".");
}

/** The owner recorded on a backing registered model (TAG_USER, else the OSS user_id). */
export function ownerOf(model: Json): string {
  const tags = Array.isArray(model.tags) ? (model.tags as { key: string; value: string }[]) : [];
  return tags.find((t) => t.key === TAG_USER)?.value ?? (typeof model.user_id === "string" ? model.user_id : "");
}

/** [catalog, schema] of a model name; throws CATALOG_/SCHEMA_DOES_NOT_EXIST. */
export function parentChain(ctx: EmulatorContext, name: string): SecurableRef[] {
  return ctx.unityCatalog.store.resolve(name.split(".").slice(0, 2));
}

/** The model as a FUNCTION securable, or undefined when the backing server does not have it. */
export async function modelRef(ctx: EmulatorContext, name: string): Promise<SecurableRef | undefined> {
  const got = await backingCall(ctx, "GET", "/api/2.0/mlflow/registered-models/get", { query: { name } });
  const model = got.json.registered_model as Json | undefined;
  return got.status === 200 && model ? { kind: "FUNCTION", fullName: name, owner: ownerOf(model) } : undefined;
}

export function modelNotFound(name: string): UcRefusal {
  return new UcRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Routine or Model '${name}' does not exist.`);
}

/**
 * Checks `need` on a model after traversal. A model that does not exist is
 * refused with Databricks' 404, unless `allowMissing` (searches and file
 * paths, which answer a missing model their own way): then undefined.
 */
export async function requireModel(
  ctx: EmulatorContext,
  p: Principal,
  name: string,
  need: ModelNeed,
  options: { allowMissing?: boolean } = {},
): Promise<SecurableRef | undefined> {
  const uc = ctx.unityCatalog;
  const chain = parentChain(ctx, name);
  uc.requireTraverse(p, chain[0] as SecurableRef, chain[1]);
  const model = await modelRef(ctx, name);
  if (!model) {
    if (options.allowMissing) return undefined;
    throw modelNotFound(name);
  }
  if (need === "owner") uc.requireOwner(p, model);
  else uc.require(p, need === "read" ? "EXECUTE" : "APPLY_TAG", [...chain, model]);
  return model;
}

/**
 * Creating a registered model: traversal plus CREATE MODEL (or CREATE FUNCTION)
 * on the schema, and no model of that name (the quoted answer names the model
 * by its last part).
 */
export async function requireCreateModel(ctx: EmulatorContext, p: Principal, name: string): Promise<void> {
  const uc = ctx.unityCatalog;
  const chain = parentChain(ctx, name);
  const [catalog, schema] = chain as [SecurableRef, SecurableRef];
  uc.requireTraverse(p, catalog, schema);
  if (!uc.has(p, "CREATE_MODEL", chain) && !uc.has(p, "CREATE_FUNCTION", chain)) throw lacks("CREATE_MODEL", "SCHEMA", schema.fullName);
  if (await modelRef(ctx, name)) {
    throw new UcRefusal(400, "RESOURCE_ALREADY_EXISTS", `Routine or Model '${name.split(".").pop() ?? name}' already exists`);
  }
}

/** Whether `p` may see a model in listings (same rule as reading it); never throws. */
export function mayRead(ctx: EmulatorContext, p: Principal, name: string, owner: string): boolean {
  const uc = ctx.unityCatalog;
  try {
    const chain = parentChain(ctx, name);
    uc.requireTraverse(p, chain[0] as SecurableRef, chain[1]);
    return uc.has(p, "EXECUTE", [...chain, { kind: "FUNCTION", fullName: name, owner }]);
  } catch {
    return false;
  }
}

/** Names of the registered models below a catalog or schema ("c." / "c.s." prefix), or of all of them; sorted. */
export async function modelNamesUnder(ctx: EmulatorContext, prefix?: string, options: { stopAtFirst?: boolean } = {}): Promise<string[]> {
  const names: string[] = [];
  let pageToken: string | undefined;
  do {
    const found = await backingCall(ctx, "GET", "/api/2.0/mlflow/registered-models/search", {
      query: { filter: prefix === undefined ? undefined : `name LIKE '${prefix}.%'`, max_results: 1000, page_token: pageToken },
    });
    for (const m of (found.json.registered_models as Json[] | undefined) ?? []) {
      // LIKE treats "_" as a wildcard; keep exact prefixes only.
      if (typeof m.name === "string" && (prefix === undefined || m.name.startsWith(`${prefix}.`))) names.push(m.name);
    }
    pageToken = typeof found.json.next_page_token === "string" && found.json.next_page_token ? found.json.next_page_token : undefined;
  } while (pageToken && !(options.stopAtFirst && names.length > 0));
  return names.sort();
}

/** Deletes a registered model with its versions, files and grants (the caller has checked ownership). */
export async function dropModel(ctx: EmulatorContext, name: string): Promise<BackingResult> {
  const deleted = await backingCall(ctx, "DELETE", "/api/2.0/mlflow/registered-models/delete", { body: { name } });
  if (deleted.status === 200) {
    await ctx.modelStorage.remove(name);
    ctx.unityCatalog.store.dropGrants("FUNCTION", name);
  }
  return deleted;
}

/**
 * Registered models below a catalog or schema, found in the backing server; deletes them
 * (with their files and grants) unless `dryRun`. Returns whether there were any.
 */
export async function removeModelsUnder(ctx: EmulatorContext, prefix: string, options: { dryRun: boolean }): Promise<boolean> {
  const names = await modelNamesUnder(ctx, prefix, { stopAtFirst: options.dryRun });
  if (!options.dryRun) for (const name of names) await dropModel(ctx, name);
  return names.length > 0;
}
