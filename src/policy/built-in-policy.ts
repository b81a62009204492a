import type { PolicyConfig } from "../config/policy-config.js";
import { DEFAULT_GROUP_STALE_SECONDS, DEFAULT_GROUP_TTL_SECONDS, type Grant, type Principal, type PolicyDocument } from "./policy-document.js";

/**
 * The policy without a policy file: the environment's switches as grants, so one evaluator
 * serves both. Everyone the front door lets in reads; changes are everyone's
 * (GATEWAY_DEFAULT_ACCESS=write) or the writers'; GATEWAY_READERS are held to reads;
 * GATEWAY_ADMINS administer. Grant names are the rule names the audit trail has always used.
 */
export function builtInPolicy(config: Pick<PolicyConfig, "admins" | "defaultAccess" | "readers" | "writers">): PolicyDocument {
  const users = (names: readonly string[]): Principal[] => names.map((name) => ({ kind: "user", name }));
  const grants: Grant[] = [];
  const grant = (name: string, principals: Principal[], effect: Grant["effect"], permission: Grant["permission"]): void => {
    if (principals.length > 0) grants.push({ name, principals, effect, permission, experiments: undefined, models: undefined });
  };
  grant("read-only", users(config.readers), "deny", "EDIT");
  if (config.defaultAccess === "write") grant("default-write", [{ kind: "all-users" }], "allow", "MANAGE");
  else {
    grant("writer", users(config.writers), "allow", "MANAGE");
    grant("default-read", [{ kind: "all-users" }], "allow", "READ");
  }
  // Last, so an admin's ordinary calls are recorded under the rule that allows everyone's.
  grant("admin", users(config.admins), "allow", "ADMIN");
  return {
    source: "environment (GATEWAY_DEFAULT_ACCESS, GATEWAY_READERS, GATEWAY_WRITERS, GATEWAY_ADMINS)",
    defaultPermission: undefined,
    creatorsOwn: false,
    groups: { ttlMs: DEFAULT_GROUP_TTL_SECONDS * 1000, staleMs: DEFAULT_GROUP_STALE_SECONDS * 1000 },
    grants,
    aliasGuards: [],
  };
}
