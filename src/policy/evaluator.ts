import type { Identity } from "../identity/identity.js";
import { type Grant, levelOf, type Permission, type PolicyDocument, type Principal } from "./policy-document.js";

/** What a call touches, as far as the policy needs to know. Owners come from the gateway's own tag, never the client. */
export type Target =
  | { kind: "global" }
  | { kind: "experiment"; id: string | undefined; name: string | undefined; owner: string | undefined }
  | { kind: "model"; name: string; owner: string | undefined; alias: string | undefined };

/** The caller's Databricks groups, or why they are not known right now. */
export type CallerGroups = { known: true; names: ReadonlySet<string> } | { known: false; reason: string };

export interface Caller {
  identity: Identity;
  groups: CallerGroups;
}

/**
 * A verdict and what made it: `rule` is a grant or guard name, or one of the evaluator's
 * own (creator, default, no-grant, groups-unavailable); the audit trail records it.
 */
export interface PolicyVerdict {
  allow: boolean;
  rule: string;
  /** The permission the call needed. */
  need: Permission;
  /** The grant (or guard) that matched, when one did. */
  grant: string | undefined;
  /** Why group membership could not be used, when that decided. */
  groupsUnavailable?: string;
  /** The alias a protected-alias rule kept from the caller. */
  protectedAlias?: string;
}

/** Rule names of the evaluator itself; grant names are the operator's. */
export const NO_GRANT = "no-grant";
export const CREATOR = "creator";
export const DEFAULT_RULE = "default";
export const GROUPS_UNAVAILABLE = "groups-unavailable";

/**
 * Decides one permission on one target for one caller. Pure: no I/O, no clock. Explicit
 * deny wins over every allow; then alias guards; then the creator's MANAGE; then the first
 * grant (in file order) that gives enough; then the policy's default; else no.
 */
export function evaluate(policy: PolicyDocument, caller: Caller, need: Permission, target: Target): PolicyVerdict {
  const level = levelOf(need);
  const groupsUnknown = caller.groups.known ? undefined : caller.groups.reason;
  if (groupsUnknown !== undefined && level > levelOf("READ") && referencesGroups(policy)) {
    // Without membership a group deny cannot be ruled out, nor a group allow confirmed: changes wait.
    return { allow: false, rule: GROUPS_UNAVAILABLE, need, grant: undefined, groupsUnavailable: groupsUnknown };
  }
  for (const grant of policy.grants) {
    if (grant.effect !== "deny" || level < levelOf(grant.permission)) continue;
    // An unknown membership counts as a match for a deny: reads fail closed too.
    if (appliesTo(grant, target) && matchesAny(grant.principals, caller, true)) return { allow: false, rule: grant.name, need, grant: grant.name };
  }
  if (target.kind === "model" && target.alias !== undefined) {
    const guards = policy.aliasGuards.filter(
      (g) => g.aliases.some((p) => p.regex.test(target.alias ?? "")) && g.models.some((p) => p.regex.test(target.name)),
    );
    if (guards.length > 0 && !guards.some((g) => matchesAny(g.principals, caller, false)) && !hasGlobalAdmin(policy, caller)) {
      const names = guards.map((g) => g.name).join(", ");
      return { allow: false, rule: guards[0]?.name ?? NO_GRANT, need, grant: names, protectedAlias: target.alias, ...unknown(groupsUnknown) };
    }
  }
  if (
    policy.creatorsOwn &&
    target.kind !== "global" &&
    target.owner !== undefined &&
    level <= levelOf("MANAGE") &&
    isCaller(target.owner, caller.identity)
  ) {
    return { allow: true, rule: CREATOR, need, grant: undefined };
  }
  for (const grant of policy.grants) {
    if (grant.effect !== "allow" || levelOf(grant.permission) < level) continue;
    if (appliesTo(grant, target) && matchesAny(grant.principals, caller, false)) return { allow: true, rule: grant.name, need, grant: grant.name };
  }
  if (policy.defaultPermission !== undefined && levelOf(policy.defaultPermission) >= level && need !== "ADMIN") {
    return { allow: true, rule: DEFAULT_RULE, need, grant: undefined };
  }
  return {
    allow: false,
    rule: groupsUnknown !== undefined && referencesGroups(policy) ? GROUPS_UNAVAILABLE : NO_GRANT,
    need,
    grant: undefined,
    ...unknown(groupsUnknown),
  };
}

/**
 * Whether this caller's verdict for `need` can depend on which object a call touches. When
 * it cannot, the gateway decides without looking anything up (the common case: one global
 * grant, or the built-in policy).
 */
export function dependsOnObject(policy: PolicyDocument, caller: Caller, need: Permission): boolean {
  if (need === "ADMIN") return false;
  if (policy.creatorsOwn && !evaluate(policy, caller, need, { kind: "global" }).allow) return true;
  return policy.grants.some((g) => isScoped(g) && matchesAny(g.principals, caller, g.effect === "deny"));
}

/** Whether search and list answers must be filtered for this caller (some objects of this kind may be unreadable). */
export function needsReadFilter(policy: PolicyDocument, caller: Caller, kind: "experiment" | "model"): boolean {
  if (!evaluate(policy, caller, "READ", { kind: "global" }).allow) return true;
  return policy.grants.some(
    (g) =>
      g.effect === "deny" && (kind === "experiment" ? g.experiments !== undefined : g.models !== undefined) && matchesAny(g.principals, caller, true),
  );
}

function isScoped(grant: Grant): boolean {
  return grant.experiments !== undefined || grant.models !== undefined;
}

function appliesTo(grant: Grant, target: Target): boolean {
  if (!isScoped(grant)) return true;
  if (target.kind === "experiment" && grant.experiments !== undefined) {
    if (target.id !== undefined && grant.experiments.ids.has(target.id)) return true;
    return target.name !== undefined && grant.experiments.names.some((p) => p.regex.test(target.name ?? ""));
  }
  if (target.kind === "model" && grant.models !== undefined) return grant.models.some((p) => p.regex.test(target.name));
  return false;
}

function hasGlobalAdmin(policy: PolicyDocument, caller: Caller): boolean {
  return evaluate({ ...policy, aliasGuards: [] }, caller, "ADMIN", { kind: "global" }).allow;
}

/** Per policy document (a document never changes; a reload makes a new one), since it is asked on every call. */
const namesGroups = new WeakMap<PolicyDocument, boolean>();

export function referencesGroups(policy: PolicyDocument): boolean {
  let answer = namesGroups.get(policy);
  if (answer === undefined) {
    answer = [...policy.grants, ...policy.aliasGuards].some((g) => g.principals.some((p) => p.kind === "group"));
    namesGroups.set(policy, answer);
  }
  return answer;
}

/** `unknownGroupMatches`: how a group principal counts while membership is unknown. */
function matchesAny(principals: readonly Principal[], caller: Caller, unknownGroupMatches: boolean): boolean {
  return principals.some((principal) => matches(principal, caller, unknownGroupMatches));
}

function matches(principal: Principal, caller: Caller, unknownGroupMatches: boolean): boolean {
  const { identity } = caller;
  switch (principal.kind) {
    case "all-users":
      return true;
    case "user":
      return names(identity).includes(principal.name);
    case "domain":
      return identity.email !== undefined && identity.email.toLowerCase().endsWith(`@${principal.domain}`);
    case "service-principal":
      return identity.email === undefined && names(identity).includes(principal.applicationId);
    case "group":
      return caller.groups.known ? caller.groups.names.has(principal.group) : unknownGroupMatches;
  }
}

/** Whether an owner recorded by the gateway (the creator's display name) is this caller. */
export function isCaller(owner: string, identity: Identity): boolean {
  return names(identity).includes(owner.toLowerCase());
}

function names(identity: Identity): string[] {
  return [identity.email, identity.userName, identity.subject].filter((n): n is string => n !== undefined && n !== "").map((n) => n.toLowerCase());
}

function unknown(reason: string | undefined): { groupsUnavailable?: string } {
  return reason === undefined ? {} : { groupsUnavailable: reason };
}
