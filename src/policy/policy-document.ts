import { parseDocument } from "yaml";

/**
 * The permission levels, modeled on MLflow's own (mlflow/server/auth/permissions.py:
 * READ, EDIT, MANAGE) plus ADMIN for the gateway's admin pages and MLflow's admin routes.
 * Each level includes the ones below it.
 */
export const PERMISSIONS = ["READ", "EDIT", "MANAGE", "ADMIN"] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function levelOf(permission: Permission): number {
  return PERMISSIONS.indexOf(permission) + 1;
}

/** Who a grant is for: a person, everyone in a domain or group, a service principal, or every verified caller. */
export type Principal =
  | { kind: "user"; name: string }
  | { kind: "domain"; domain: string }
  | { kind: "group"; group: string }
  | { kind: "service-principal"; applicationId: string }
  | { kind: "all-users" };

/** A name pattern: `*` matches within one segment (between separators), `**` across them. */
export interface NamePattern {
  source: string;
  regex: RegExp;
}

export interface ExperimentScope {
  ids: ReadonlySet<string>;
  names: readonly NamePattern[];
}

export interface Grant {
  /** Shown in 403 answers and the audit trail as the rule that decided. */
  name: string;
  principals: readonly Principal[];
  effect: "allow" | "deny";
  permission: Permission;
  /** Both undefined: the grant is global (every object, and calls that name none). */
  experiments: ExperimentScope | undefined;
  models: readonly NamePattern[] | undefined;
}

/** Only the listed principals may set or delete the listed aliases on matching models. */
export interface AliasGuard {
  name: string;
  aliases: readonly NamePattern[];
  models: readonly NamePattern[];
  principals: readonly Principal[];
}

export interface GroupCacheSettings {
  /** A membership answer is reused this long, then refreshed in the background. */
  ttlMs: number;
  /** When SCIM fails, an answer this old is still used; after it, group-dependent writes are refused. */
  staleMs: number;
}

export interface PolicyDocument {
  /** Where it came from (a path, or "environment" for the built-in policy). */
  source: string;
  /** What callers no grant mentions may do; undefined: nothing (deny by default). */
  defaultPermission: Permission | undefined;
  creatorsOwn: boolean;
  groups: GroupCacheSettings;
  grants: readonly Grant[];
  aliasGuards: readonly AliasGuard[];
}

/** One thing wrong with a policy file: where, what, and how to fix it. */
export interface PolicyProblem {
  at: string;
  message: string;
}

export const DEFAULT_GROUP_TTL_SECONDS = 300;
export const DEFAULT_GROUP_STALE_SECONDS = 900;
const MAX_GROUP_SECONDS = 86_400;
const TOP_LEVEL_KEYS = new Set(["version", "default", "creators_own", "groups", "grants", "protected_aliases"]);
const GRANT_KEYS = new Set(["name", "principals", "allow", "deny", "experiments", "models"]);
const GUARD_KEYS = new Set(["name", "aliases", "models", "principals"]);
const GRANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Parses and validates a policy file, collecting every problem before giving up so an
 * operator fixes the file in one round. Nothing of a file with problems is used.
 */
export function parsePolicyDocument(text: string, source: string): { policy: PolicyDocument } | { problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  for (const error of doc.errors) {
    const line = error.linePos?.[0]?.line;
    problems.push({
      at: line === undefined ? "file" : `line ${line}`,
      message: `not valid YAML: ${(error.message.split("\n")[0] ?? "syntax error").replace(/ at line \d+, column \d+:?$/, "")}`,
    });
  }
  if (problems.length > 0) return { problems };
  const root: unknown = doc.toJS();
  if (!isRecord(root)) return { problems: [{ at: "file", message: "must be a YAML mapping with `version: 1` and `grants:`." }] };
  for (const key of Object.keys(root)) {
    if (!TOP_LEVEL_KEYS.has(key)) problems.push({ at: key, message: `unknown setting; expected one of ${[...TOP_LEVEL_KEYS].join(", ")}.` });
  }
  if (root["version"] !== 1) problems.push({ at: "version", message: "must be 1 (the only policy format there is so far)." });

  let defaultPermission: Permission | undefined;
  if (root["default"] !== undefined && root["default"] !== "none") {
    defaultPermission = readPermission(root["default"], "default", problems, ["READ", "EDIT"]);
  }
  if (root["creators_own"] !== undefined && typeof root["creators_own"] !== "boolean") {
    problems.push({ at: "creators_own", message: "must be true or false." });
  }
  const groups = readGroupSettings(root["groups"], problems);

  const grants: Grant[] = [];
  const names = new Set<string>();
  const rawGrants = root["grants"];
  if (!Array.isArray(rawGrants) || rawGrants.length === 0) {
    problems.push({ at: "grants", message: "must be a list with at least one grant (a policy without grants refuses everything)." });
  } else {
    rawGrants.forEach((raw, index) => {
      const grant = readGrant(raw, `grants[${index}]`, problems);
      if (grant === undefined) return;
      if (names.has(grant.name))
        problems.push({
          at: `grants[${index}].name`,
          message: `"${grant.name}" is used twice; names identify the rule in answers and the audit trail.`,
        });
      names.add(grant.name);
      grants.push(grant);
    });
  }
  const aliasGuards: AliasGuard[] = [];
  const rawGuards = root["protected_aliases"];
  if (rawGuards !== undefined) {
    if (!Array.isArray(rawGuards)) problems.push({ at: "protected_aliases", message: "must be a list." });
    else
      rawGuards.forEach((raw, index) => {
        const guard = readAliasGuard(raw, `protected_aliases[${index}]`, problems);
        if (guard !== undefined) aliasGuards.push(guard);
      });
  }
  if (problems.length > 0) return { problems };
  return {
    policy: { source, defaultPermission, creatorsOwn: root["creators_own"] === true, groups, grants, aliasGuards },
  };
}

function readGroupSettings(raw: unknown, problems: PolicyProblem[]): GroupCacheSettings {
  const settings = { ttlMs: DEFAULT_GROUP_TTL_SECONDS * 1000, staleMs: DEFAULT_GROUP_STALE_SECONDS * 1000 };
  if (raw === undefined) return settings;
  if (!isRecord(raw)) {
    problems.push({ at: "groups", message: "must be a mapping with cache_seconds and stale_seconds." });
    return settings;
  }
  for (const key of Object.keys(raw)) {
    if (key !== "cache_seconds" && key !== "stale_seconds")
      problems.push({ at: `groups.${key}`, message: "unknown setting; expected cache_seconds or stale_seconds." });
  }
  const seconds = (key: string, fallback: number, min: number): number => {
    const value = raw[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > MAX_GROUP_SECONDS) {
      problems.push({ at: `groups.${key}`, message: `must be a whole number of seconds from ${min} to ${MAX_GROUP_SECONDS}.` });
      return fallback;
    }
    return value;
  };
  const ttl = seconds("cache_seconds", DEFAULT_GROUP_TTL_SECONDS, 1);
  const stale = seconds("stale_seconds", Math.max(DEFAULT_GROUP_STALE_SECONDS, ttl), 0);
  if (stale < ttl) problems.push({ at: "groups.stale_seconds", message: `must be at least cache_seconds (${ttl}): a stale answer is an older one.` });
  return { ttlMs: ttl * 1000, staleMs: stale * 1000 };
}

/** A list entry that must be a mapping of known fields; unknown fields are reported, the mapping still read. */
function readMapping(
  raw: unknown,
  at: string,
  keys: ReadonlySet<string>,
  shape: string,
  problems: PolicyProblem[],
): Record<string, unknown> | undefined {
  if (!isRecord(raw)) {
    problems.push({ at, message: `must be a mapping with ${shape}.` });
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!keys.has(key)) problems.push({ at: `${at}.${key}`, message: `unknown field; expected one of ${[...keys].join(", ")}.` });
  }
  return raw;
}

function readGrant(entry: unknown, at: string, problems: PolicyProblem[]): Grant | undefined {
  const before = problems.length;
  const raw = readMapping(entry, at, GRANT_KEYS, "name, principals and allow (or deny)", problems);
  if (raw === undefined) return undefined;
  const name = readName(raw["name"], `${at}.name`, problems);
  const principals = readPrincipals(raw["principals"], `${at}.principals`, problems);
  let effect: Grant["effect"] = "allow";
  let permission: Permission | undefined;
  if (raw["allow"] !== undefined && raw["deny"] !== undefined) {
    problems.push({ at, message: "has both allow and deny; write two grants." });
  } else if (raw["deny"] !== undefined) {
    effect = "deny";
    permission = readPermission(raw["deny"], `${at}.deny`, problems, PERMISSIONS);
  } else if (raw["allow"] !== undefined) {
    permission = readPermission(raw["allow"], `${at}.allow`, problems, PERMISSIONS);
  } else {
    problems.push({ at, message: "needs allow: or deny: with READ, EDIT, MANAGE or ADMIN." });
  }
  const experiments = raw["experiments"] === undefined ? undefined : readExperimentScope(raw["experiments"], `${at}.experiments`, problems);
  const models = raw["models"] === undefined ? undefined : readPatterns(raw["models"], `${at}.models`, ".", problems, true);
  if (permission === "ADMIN" && (experiments !== undefined || models !== undefined)) {
    problems.push({
      at,
      message:
        "ADMIN is global: it covers the gateway's admin pages and MLflow's admin routes, which belong to no experiment or model. Remove experiments/models.",
    });
  }
  if (problems.length > before || name === undefined || permission === undefined) return undefined;
  return { name, principals, effect, permission, experiments, models };
}

function readAliasGuard(entry: unknown, at: string, problems: PolicyProblem[]): AliasGuard | undefined {
  const before = problems.length;
  const raw = readMapping(entry, at, GUARD_KEYS, "name, aliases, models and principals", problems);
  if (raw === undefined) return undefined;
  const name = readName(raw["name"], `${at}.name`, problems);
  const aliases = readPatterns(raw["aliases"], `${at}.aliases`, "", problems, true);
  const models = raw["models"] === undefined ? [toPattern("**", ".", true)] : readPatterns(raw["models"], `${at}.models`, ".", problems, true);
  const principals = readPrincipals(raw["principals"], `${at}.principals`, problems);
  if (problems.length > before || name === undefined) return undefined;
  return { name, aliases, models, principals };
}

function readName(raw: unknown, at: string, problems: PolicyProblem[]): string | undefined {
  if (typeof raw === "string" && GRANT_NAME.test(raw)) return raw;
  problems.push({ at, message: "must be a short name (letters, digits, . _ -; up to 64) that identifies the rule in answers and the audit trail." });
  return undefined;
}

function readPermission(raw: unknown, at: string, problems: PolicyProblem[], allowed: readonly Permission[]): Permission | undefined {
  const value = typeof raw === "string" ? raw.toUpperCase() : undefined;
  if (value !== undefined && (allowed as readonly string[]).includes(value)) return value as Permission;
  problems.push({ at, message: `${JSON.stringify(raw)} is not one of ${allowed.join(", ")}.` });
  return undefined;
}

/** Principals are written with a kind prefix, so a typo cannot silently widen a grant. */
export function parsePrincipal(text: string): Principal | string {
  const trimmed = text.trim();
  if (trimmed === "all-users") return { kind: "all-users" };
  const colon = trimmed.indexOf(":");
  const kind = colon === -1 ? "" : trimmed.slice(0, colon);
  const value = colon === -1 ? "" : trimmed.slice(colon + 1).trim();
  if (kind === "user" && value !== "") return { kind: "user", name: value.toLowerCase() };
  if (kind === "domain" && /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(value)) return { kind: "domain", domain: value.toLowerCase().replace(/^@/, "") };
  if (kind === "group" && value !== "") return { kind: "group", group: value };
  if (kind === "service-principal" && value !== "") return { kind: "service-principal", applicationId: value.toLowerCase() };
  return `${JSON.stringify(text)} is not a principal; write user:<email or user name>, domain:<example.com>, group:<Databricks group>, service-principal:<application id> or all-users.`;
}

function readPrincipals(raw: unknown, at: string, problems: PolicyProblem[]): Principal[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push({ at, message: 'must be a non-empty list, e.g. ["group:team-a", "user:alice@example.com"].' });
    return [];
  }
  const principals: Principal[] = [];
  raw.forEach((entry, index) => {
    const parsed = typeof entry === "string" ? parsePrincipal(entry) : `${JSON.stringify(entry)} is not a string.`;
    if (typeof parsed === "string") problems.push({ at: `${at}[${index}]`, message: parsed });
    else principals.push(parsed);
  });
  return principals;
}

function readExperimentScope(raw: unknown, at: string, problems: PolicyProblem[]): ExperimentScope {
  const ids = new Set<string>();
  const names: NamePattern[] = [];
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push({ at, message: 'must be a non-empty list of "id:<experiment id>" or workspace paths such as "/Shared/team-a/*".' });
    return { ids, names };
  }
  (raw as unknown[]).forEach((entry, index) => {
    const text: unknown = typeof entry === "number" ? `id:${entry}` : entry;
    if (typeof text !== "string") {
      problems.push({ at: `${at}[${index}]`, message: `${JSON.stringify(entry)} is not a string.` });
    } else if (text.startsWith("id:")) {
      const id = text.slice(3).trim();
      if (/^\d{1,20}$/.test(id)) ids.add(id);
      else problems.push({ at: `${at}[${index}]`, message: `${JSON.stringify(text)}: an experiment id is a number.` });
    } else if (text.trim() !== "") {
      // Databricks names are workspace paths ("/Shared/team-a/*"); a local server's are free text.
      names.push(toPattern(text, "/", false));
    } else {
      problems.push({ at: `${at}[${index}]`, message: 'is empty: write an experiment path or name pattern, or "id:<number>".' });
    }
  });
  return { ids, names };
}

function readPatterns(raw: unknown, at: string, separator: string, problems: PolicyProblem[], ignoreCase: boolean): NamePattern[] {
  const list = typeof raw === "string" ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0 || list.some((entry) => typeof entry !== "string" || entry.trim() === "")) {
    problems.push({ at, message: 'must be a non-empty list of names or patterns, e.g. ["main.team_a.*"].' });
    return [];
  }
  return (list as string[]).map((entry) => toPattern(entry.trim(), separator, ignoreCase));
}

/** `**` crosses separators, `*` stays within a segment; everything else is literal. */
export function toPattern(source: string, separator: string, ignoreCase: boolean): NamePattern {
  const within = separator === "" ? "[\\s\\S]*" : `[^${separator.replace(/[\\\]^-]/g, "\\$&")}]*`;
  const body = source
    .split("**")
    .map((part) =>
      part
        .split("*")
        .map((literal) => literal.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
        .join(within),
    )
    .join("[\\s\\S]*");
  return { source, regex: new RegExp(`^${body}$`, ignoreCase ? "i" : "") };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
