// Unity Catalog access decisions: "does this principal hold this privilege on
// this securable", with ownership, inheritance and metastore admins.
//
// Rules and where they come from:
// - "Object owners have all privileges on that object" (docs.databricks.com/aws/en/data-governance/unity-catalog/manage-privileges/index.md);
//   ownership itself does not cascade: "owners of a schema do not
//   automatically have all privileges on the tables in the schema, but they
//   can grant themselves privileges" (docs.databricks.com/data/manage-ownership.html).
//   The Japanese volumes page says owner privileges do apply to contained
//   objects; the emulator takes the stricter English reading.
// - granted privileges inherit catalog -> schema -> object (GrantsAPI
//   docstring, databricks-sdk service/catalog.py:17488-17494);
// - USE CATALOG and USE SCHEMA are needed to reach anything inside, also by
//   the owner of the object inside (RegisteredModelsAPI, catalog.py:19331-19333;
//   docs.databricks.com/volumes/privileges.html);
// - grants may be changed by a metastore admin, the object's owner, the owner
//   of its catalog or schema, or a holder of MANAGE on it or a parent
//   (manage-privileges/index.md; volumes/privileges.html), the latter two
//   still needing USE CATALOG / USE SCHEMA (manage-ownership "MANAGE" section);
// - principals are account-level: the workspace-local groups `admins` and
//   `users` are refused ("Could not find principal with name admins",
//   terraform-provider-databricks#5413, code PRINCIPAL_DOES_NOT_EXIST as quoted
//   in public deploy scripts); `account users` is everyone.
// Simplification: metastore admins are the emulator's members of the
// workspace group "admins" (a real metastore admin is assigned by an account
// admin, docs .../manage-privileges/admin-privileges.html).

import type { Directory, Principal } from "./principals.js";
import { type Privilege, UcRefusal, expandAll, lacks, notOwner } from "./uc-privileges.js";
import type { SecurableRef, UcStore } from "./uc-securables.js";

export const ACCOUNT_USERS = "account users";
const METASTORE_ADMINS_GROUP = "admins";
const WORKSPACE_LOCAL_GROUPS = new Set(["admins", "users"]);

/** A privilege as effective-permissions reports it. */
export interface EffectivePrivilege {
  privilege: Privilege;
  inheritedFrom?: SecurableRef;
}

export class UcAccess {
  constructor(
    readonly store: UcStore,
    private readonly directory: Directory,
  ) {}

  #groupNames(p: Principal): string[] {
    return p.groupIds.map((id) => this.directory.findGroup(id)?.displayName ?? "").filter(Boolean);
  }

  isMetastoreAdmin(p: Principal): boolean {
    return this.#groupNames(p).includes(METASTORE_ADMINS_GROUP);
  }

  /** The owner is the principal itself or one of its groups. */
  owns(p: Principal, ref: SecurableRef): boolean {
    return ref.owner === p.name || this.#groupNames(p).includes(ref.owner);
  }

  /** Names a grant may carry to reach `p`. */
  #grantees(p: Principal): Set<string> {
    return new Set([p.name, ACCOUNT_USERS, ...this.#groupNames(p)]);
  }

  /** Privileges granted on one securable to `p` (directly or through a group), ALL_PRIVILEGES expanded. */
  grantedOn(p: Principal, ref: SecurableRef): Set<Privilege> {
    const out = new Set<Privilege>();
    const grantees = this.#grantees(p);
    for (const [principal, privileges] of this.store.grants(ref.kind, ref.fullName)) {
      if (!grantees.has(principal)) continue;
      for (const privilege of privileges) {
        if (privilege === "ALL_PRIVILEGES") for (const x of expandAll(ref.kind)) out.add(x);
        else out.add(privilege);
      }
    }
    return out;
  }

  /** Whether `p` holds `privilege` on the last securable of `chain` (catalog first), by admin, ownership or grant. */
  has(p: Principal, privilege: Privilege, chain: SecurableRef[]): boolean {
    const target = chain[chain.length - 1];
    if (!target) return false;
    if (this.isMetastoreAdmin(p) || this.owns(p, target)) return true;
    return chain.some((ref) => this.grantedOn(p, ref).has(privilege));
  }

  /** Throws "User does not have <privilege> on <last of chain>" unless `has`. */
  require(p: Principal, privilege: Privilege, chain: SecurableRef[]): void {
    const target = chain[chain.length - 1];
    if (target && !this.has(p, privilege, chain)) throw lacks(privilege, target.kind, target.fullName);
  }

  /** USE CATALOG on the catalog and, when given, USE SCHEMA on the schema. */
  requireTraverse(p: Principal, catalog: SecurableRef, schema?: SecurableRef): void {
    this.require(p, "USE_CATALOG", [catalog]);
    if (schema) this.require(p, "USE_SCHEMA", [catalog, schema]);
  }

  /** Owner-only operations (update, alias, new model version, delete): owner or metastore admin. */
  requireOwner(p: Principal, target: SecurableRef): void {
    if (!this.isMetastoreAdmin(p) && !this.owns(p, target)) throw notOwner(target.kind, target.fullName);
  }

  /** May `p` change (and see every) grant on the last securable of `chain`? */
  canManageGrants(p: Principal, chain: SecurableRef[]): boolean {
    if (this.isMetastoreAdmin(p)) return true;
    const target = chain[chain.length - 1];
    if (!target || target.kind === "METASTORE") return false;
    const manages = chain.some((ref) => this.owns(p, ref) || this.grantedOn(p, ref).has("MANAGE"));
    const [catalog, schema] = chain;
    const traverses =
      !!catalog && this.has(p, "USE_CATALOG", [catalog]) && (chain.length < 3 || !schema || this.has(p, "USE_SCHEMA", [catalog, schema]));
    return manages && traverses;
  }

  requireManageGrants(p: Principal, chain: SecurableRef[]): void {
    const target = chain[chain.length - 1];
    if (target && !this.canManageGrants(p, chain)) throw lacks("MANAGE", target.kind, target.fullName);
  }

  /** Refuses principals Unity Catalog cannot resolve. */
  checkPrincipal(name: string): void {
    const known =
      name === ACCOUNT_USERS ||
      this.directory.find(name) !== undefined ||
      (!WORKSPACE_LOCAL_GROUPS.has(name) && this.directory.groups.some((g) => g.displayName === name));
    if (!known) throw new UcRefusal(404, "PRINCIPAL_DOES_NOT_EXIST", `Could not find principal with name ${name}.`);
  }

  /** Every grant that reaches the last securable of `chain`, per grantee, marked with where it was granted. */
  effective(chain: SecurableRef[]): Map<string, EffectivePrivilege[]> {
    const target = chain[chain.length - 1];
    const out = new Map<string, EffectivePrivilege[]>();
    for (const ref of chain) {
      for (const [principal, privileges] of this.store.grants(ref.kind, ref.fullName)) {
        const list = out.get(principal) ?? [];
        for (const privilege of privileges) list.push(ref === target ? { privilege } : { privilege, inheritedFrom: ref });
        out.set(principal, list);
      }
    }
    return out;
  }
}
