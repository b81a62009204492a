// The metastore's catalogs, schemas and volumes and every grant on them (and
// on registered models, whose other state lives in the backing MLflow
// server). Pure data: who may do what is decided in uc-access.ts.
//
// Sources:
// - names: "Unity Catalog stores all object names as lowercase"; at most 255
//   characters; no period, space, forward slash, control characters or DEL
//   (docs.databricks.com/sql/language-manual/sql-ref-names.html; databricks-sdk
//   service/catalog.py:1182-1183);
// - the creator owns what it creates (VolumeInfo.owner docstring, catalog.py:13860-13862);
// - a new catalog comes with the schemas `default` and `information_schema`, the
//   latter owned by "System user" (docs.databricks.com/catalogs/create-catalog.html;
//   docs.databricks.com/sql/language-manual/information-schema/schemata.html example);
// - "already exists" messages ("Catalog 'x' already exists", terraform-provider-databricks#2455;
//   "Schema 'x' already exists", databricks/bundle-examples#51) with the
//   CATALOG_ALREADY_EXISTS / SCHEMA_ALREADY_EXISTS codes (mlflow/protos/databricks_pb2.pyi:360-361)
//   as 400 (databrickslabs/ucx#2077 catches BadRequest); volumes have no own
//   code, so the generic ALREADY_EXISTS (409, SDK errors/platform.py:110).

import { randomUUID } from "node:crypto";
import { type Privilege, type SecurableKind, UcRefusal, invalid, notFound } from "./uc-privileges.js";

export type ObjectKind = "CATALOG" | "SCHEMA" | "VOLUME";

export interface SecurableInfo {
  kind: ObjectKind;
  /** Lower-case full name: "main", "main.default", "main.default.files". */
  fullName: string;
  owner: string;
  id: string;
  comment?: string;
  properties?: Record<string, string>;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
  /** Volumes only. */
  volumeType?: "MANAGED" | "EXTERNAL";
  storageLocation?: string;
}

/** A securable as access checks see it: kind, full name and owner (models' owners come from the backing server). */
export interface SecurableRef {
  kind: SecurableKind;
  fullName: string;
  owner: string;
}

/** principal -> privileges granted directly on one securable. */
export type Assignments = Map<string, Set<Privilege>>;

const MAX_NAME_LENGTH = 255;
// Space, period, slash, ASCII control characters and DEL.
const FORBIDDEN = /[ ./\u0000-\u001f\u007f]/;
/** Owner of the information_schema every catalog gets. */
export const SYSTEM_OWNER = "System user";

/** One name part, checked and lower-cased; `field` names the request field in the message. */
export function ucName(raw: unknown, field: string): string {
  if (typeof raw !== "string" || raw === "") throw invalid(`Missing required field: ${field}`);
  if (raw.length > MAX_NAME_LENGTH || FORBIDDEN.test(raw)) {
    throw invalid(
      `Invalid ${field} '${raw}': names may not contain spaces, periods, forward slashes or control characters, and have at most ${MAX_NAME_LENGTH} characters.`,
    );
  }
  return raw.toLowerCase();
}

/** Splits and checks a full name of `parts` parts ("c.s" or "c.s.v"). */
export function ucFullName(raw: unknown, parts: number, field = "full_name"): string[] {
  if (typeof raw !== "string" || raw === "") throw invalid(`Missing required field: ${field}`);
  const split = raw.split(".");
  if (split.length !== parts) throw invalid(`Invalid ${field} '${raw}': expected ${parts} dot-separated parts.`);
  return split.map((part) => ucName(part, field));
}

const key = (kind: SecurableKind, fullName: string): string => `${kind}:${fullName}`;

export class UcStore {
  readonly metastoreId = randomUUID();
  readonly #objects = new Map<string, SecurableInfo>();
  readonly #grants = new Map<string, Assignments>();

  get(kind: ObjectKind, fullName: string): SecurableInfo | undefined {
    return this.#objects.get(key(kind, fullName));
  }

  /** The catalog, schema and volume named by the parts, or the 404 of the first that is missing. */
  resolve(parts: string[]): SecurableInfo[] {
    const kinds: ObjectKind[] = ["CATALOG", "SCHEMA", "VOLUME"];
    return parts.map((_, i) => {
      const kind = kinds[i] ?? "VOLUME";
      const fullName = parts.slice(0, i + 1).join(".");
      const found = this.get(kind, fullName);
      if (!found) throw notFound(kind, fullName);
      return found;
    });
  }

  /** Direct children: schemas of a catalog, volumes of a schema; sorted by name. */
  children(kind: "SCHEMA" | "VOLUME", parent: string): SecurableInfo[] {
    return [...this.#objects.values()]
      .filter((o) => o.kind === kind && o.fullName.slice(0, o.fullName.lastIndexOf(".")) === parent)
      .sort((a, b) => a.fullName.localeCompare(b.fullName));
  }

  catalogs(): SecurableInfo[] {
    return [...this.#objects.values()].filter((o) => o.kind === "CATALOG").sort((a, b) => a.fullName.localeCompare(b.fullName));
  }

  add(kind: ObjectKind, fullName: string, creator: string, fields: Partial<SecurableInfo> = {}): SecurableInfo {
    if (this.#objects.has(key(kind, fullName))) {
      const label = kind === "CATALOG" ? "Catalog" : kind === "SCHEMA" ? "Schema" : "Volume";
      const [status, code] = kind === "VOLUME" ? [409, "ALREADY_EXISTS"] : [400, `${kind}_ALREADY_EXISTS`];
      throw new UcRefusal(status, code, `${label} '${fullName}' already exists`);
    }
    const now = Date.now();
    const info: SecurableInfo = {
      owner: creator,
      ...fields,
      kind,
      fullName,
      id: randomUUID(),
      createdAt: now,
      createdBy: creator,
      updatedAt: now,
      updatedBy: creator,
    };
    this.#objects.set(key(kind, fullName), info);
    if (kind === "CATALOG") {
      this.add("SCHEMA", `${fullName}.default`, creator);
      this.add("SCHEMA", `${fullName}.information_schema`, creator, { owner: SYSTEM_OWNER });
    }
    return info;
  }

  /** Removes an object, everything below it and every grant on them. */
  remove(kind: ObjectKind, fullName: string): void {
    const gone = (k: string): boolean => k === key(kind, fullName) || k.slice(k.indexOf(":") + 1).startsWith(`${fullName}.`);
    for (const k of [...this.#objects.keys()]) if (gone(k)) this.#objects.delete(k);
    for (const k of [...this.#grants.keys()]) if (gone(k)) this.#grants.delete(k);
  }

  /** The direct grants on a securable (a live map: callers may change it through updateGrants only). */
  grants(kind: SecurableKind, fullName: string): Assignments {
    return this.#grants.get(key(kind, fullName)) ?? new Map<string, Set<Privilege>>();
  }

  updateGrants(kind: SecurableKind, fullName: string, principal: string, add: Privilege[], remove: Privilege[]): void {
    const all = this.#grants.get(key(kind, fullName)) ?? new Map<string, Set<Privilege>>();
    const set = all.get(principal) ?? new Set<Privilege>();
    for (const p of add) set.add(p);
    for (const p of remove) set.delete(p);
    if (set.size > 0) all.set(principal, set);
    else all.delete(principal);
    this.#grants.set(key(kind, fullName), all);
  }

  /** Forgets the grants on one securable (a deleted registered model). */
  dropGrants(kind: SecurableKind, fullName: string): void {
    this.#grants.delete(key(kind, fullName));
  }

  /** Grants follow a renamed registered model. */
  moveGrants(kind: SecurableKind, from: string, to: string): void {
    const grants = this.#grants.get(key(kind, from));
    this.#grants.delete(key(kind, from));
    if (grants) this.#grants.set(key(kind, to), grants);
  }
}
