// Unity Catalog's privilege vocabulary: which privileges exist, which apply to
// which kind of securable, how messages spell them, and the typed refusal the
// UC routers turn into {error_code, message}.
//
// Sources:
// - privilege names: databricks-sdk 0.167.0 service/catalog.py `Privilege`
//   (:10968-11023); API spells them with underscores, messages with spaces
//   ("User does not have USE CATALOG on Catalog 'main'.", terraform-provider-databricks#2421
//   and public code quoting real answers);
// - securable types: `SecurableType` (:12125-12151); "The securable type for
//   models is FUNCTION" (RegisteredModelsAPI docstring, :19344-19345); the path
//   segment is accepted in either case (the SDK sends upper case, the
//   Terraform provider lower case);
// - privileges per securable: docs.databricks.com/data-governance/unity-catalog/manage-privileges/privileges.html
//   and docs.databricks.com/volumes/privileges.html;
// - ALL PRIVILEGES does not include MANAGE ("to avoid accidental privilege
//   escalation", docs.databricks.com/data-governance/unity-catalog/manage-privileges/ownership.html).

import { Refusal } from "./errors.js";
export type SecurableKind = "METASTORE" | "CATALOG" | "SCHEMA" | "VOLUME" | "FUNCTION";

/** The privileges this emulator knows; each may be granted on the kinds listed. */
const APPLICABLE = {
  ALL_PRIVILEGES: ["CATALOG", "SCHEMA", "VOLUME", "FUNCTION"],
  APPLY_TAG: ["CATALOG", "SCHEMA", "VOLUME", "FUNCTION"],
  BROWSE: ["CATALOG"],
  CREATE_CATALOG: ["METASTORE"],
  CREATE_EXTERNAL_LOCATION: ["METASTORE"],
  CREATE_FUNCTION: ["CATALOG", "SCHEMA"],
  CREATE_MATERIALIZED_VIEW: ["CATALOG", "SCHEMA"],
  CREATE_MODEL: ["CATALOG", "SCHEMA"],
  CREATE_SCHEMA: ["CATALOG"],
  CREATE_STORAGE_CREDENTIAL: ["METASTORE"],
  CREATE_TABLE: ["CATALOG", "SCHEMA"],
  CREATE_VOLUME: ["CATALOG", "SCHEMA"],
  EXECUTE: ["CATALOG", "SCHEMA", "FUNCTION"],
  EXTERNAL_USE_SCHEMA: ["CATALOG", "SCHEMA"],
  MANAGE: ["CATALOG", "SCHEMA", "VOLUME", "FUNCTION"],
  MODIFY: ["CATALOG", "SCHEMA"],
  READ_VOLUME: ["CATALOG", "SCHEMA", "VOLUME"],
  REFRESH: ["CATALOG", "SCHEMA"],
  SELECT: ["CATALOG", "SCHEMA"],
  USE_CATALOG: ["CATALOG"],
  USE_SCHEMA: ["CATALOG", "SCHEMA"],
  WRITE_VOLUME: ["CATALOG", "SCHEMA", "VOLUME"],
} as const satisfies Record<string, readonly SecurableKind[]>;

export type Privilege = keyof typeof APPLICABLE;

export function isPrivilege(value: unknown): value is Privilege {
  return typeof value === "string" && Object.hasOwn(APPLICABLE, value);
}

export function appliesTo(privilege: Privilege, kind: SecurableKind): boolean {
  return (APPLICABLE[privilege] as readonly SecurableKind[]).includes(kind);
}

/** Privileges ALL_PRIVILEGES stands for on a kind: every applicable one except MANAGE. */
export function expandAll(kind: SecurableKind): Privilege[] {
  return (Object.keys(APPLICABLE) as Privilege[]).filter((p) => p !== "MANAGE" && p !== "ALL_PRIVILEGES" && appliesTo(p, kind));
}

/** "USE_CATALOG" -> "USE CATALOG", as Databricks' messages spell privileges. */
export function spaced(privilege: Privilege): string {
  return privilege.replaceAll("_", " ");
}

const LABEL: Record<SecurableKind, string> = {
  METASTORE: "Metastore",
  CATALOG: "Catalog",
  SCHEMA: "Schema",
  VOLUME: "Volume",
  // Registered models are FUNCTION securables; messages name them as what they are.
  FUNCTION: "Registered Model",
};

export function securableLabel(kind: SecurableKind): string {
  return LABEL[kind];
}

/** The securable_type path segment, in either case; "registered_model" and others are not securable types of the API. */
export function parseSecurableType(raw: string): SecurableKind | undefined {
  const upper = raw.toUpperCase();
  return upper === "METASTORE" || upper === "CATALOG" || upper === "SCHEMA" || upper === "VOLUME" || upper === "FUNCTION" ? upper : undefined;
}

/** A refusal in Unity Catalog's terms. */
export class UcRefusal extends Refusal {}

/**
 * Missing objects. CATALOG_DOES_NOT_EXIST / SCHEMA_DOES_NOT_EXIST are codes of
 * databricks_pb2 ErrorCode (mlflow/protos/databricks_pb2.pyi:349-350) answered
 * with 404 (terraform-provider-databricks mocks; databrickslabs/ucx treats
 * them as NotFound). Volumes have no dedicated code; NOT_FOUND is the generic one.
 */
export function notFound(kind: "CATALOG" | "SCHEMA" | "VOLUME", fullName: string): UcRefusal {
  const code = kind === "CATALOG" ? "CATALOG_DOES_NOT_EXIST" : kind === "SCHEMA" ? "SCHEMA_DOES_NOT_EXIST" : "NOT_FOUND";
  return new UcRefusal(404, code, `${securableLabel(kind)} '${fullName}' does not exist.`);
}

/** "User does not have USE CATALOG on Catalog 'main'." (403 PERMISSION_DENIED). */
export function lacks(privilege: Privilege, kind: SecurableKind, fullName: string): UcRefusal {
  return new UcRefusal(403, "PERMISSION_DENIED", `User does not have ${spaced(privilege)} on ${securableLabel(kind)} '${fullName}'.`);
}

/** For operations only an owner (or a metastore admin) may perform. */
export function notOwner(kind: SecurableKind, fullName: string): UcRefusal {
  return new UcRefusal(403, "PERMISSION_DENIED", `User is not an owner of ${securableLabel(kind)} '${fullName}'.`);
}

export function invalid(message: string): UcRefusal {
  return new UcRefusal(400, "INVALID_PARAMETER_VALUE", message);
}
