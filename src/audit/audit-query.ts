import { show } from "../config/env-reader.js";
import type { AuditObjects } from "./audit-event.js";
import type { AuditRecord } from "./audit-record.js";

/**
 * Which audit events a reviewer asks for, shared by `npm run audit -- search` and the
 * gateway's admin page so both answer the same question the same way. Pure: no I/O.
 */
export interface AuditQuery {
  /** Principal email, user name or subject, any case; without "@" it also matches the part of an email before "@". */
  person?: string;
  /** MLflow operation names (DeleteRun), any case; a comma list means any of them. */
  action?: string;
  /** A value of any named object (run id, experiment or model name...), `field=value` for one field, or an artifact path prefix. */
  object?: string;
  /**
   * allow, deny or undecided; an HTTP status (403); a status class (5xx); or an error code, MLflow's
   * (RESOURCE_DOES_NOT_EXIST) or the gateway's (POLICY_DENIED). A comma list means any of them.
   */
  outcome?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  /** Stop after this many matches. */
  limit?: number;
}

/** The query-string / option names parseAuditQuery reads. */
export const AUDIT_QUERY_PARAMETERS = ["person", "action", "object", "outcome", "since", "until", "limit"] as const;
export const MAX_AUDIT_QUERY_LIMIT = 1_000_000;

const RELATIVE = /^(\d{1,6})\s*(m|h|d|w)$/i;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** ISO 8601 date or date-time; the zone is optional (then UTC), seconds and fractions too. */
const ISO_TIME =
  /^(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))(?:[T ]((?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?)(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$/i;
const STATUS = /^[1-5]\d\d$/;
const STATUS_CLASS = /^[1-5]xx$/i;
/** MLflow writes its error codes in capitals (mlflow/protos/databricks.proto); asking for them so keeps typos like "denied" from matching nothing silently. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]+$/;
const OBJECT_FIELDS: ReadonlySet<string> = new Set<keyof AuditObjects>([
  "experiment_id",
  "experiment_name",
  "run_id",
  "model_name",
  "version",
  "alias",
  "artifact_path",
  "logged_model_id",
  "trace_id",
]);

/**
 * Reads a query from named parameters (a URL's query, CLI options), collecting every
 * problem, each naming the parameter and what it expects. `now` anchors relative times.
 */
export function parseAuditQuery(get: (name: string) => string | undefined, now: Date = new Date()): { query: AuditQuery; problems: string[] } {
  const problems: string[] = [];
  const query: AuditQuery = {};
  const text = (name: string): string | undefined => {
    const value = get(name)?.trim();
    return value === undefined || value === "" ? undefined : value;
  };

  const person = text("person");
  if (person !== undefined) query.person = person;

  const action = text("action");
  if (action !== undefined) {
    if (listOf(action).length === 0)
      problems.push(`action: ${show(action)} names no operation; give one or more MLflow operations, e.g. DeleteRun,DeleteExperiment.`);
    else query.action = action;
  }

  const object = text("object");
  if (object !== undefined) {
    const field = qualifiedField(object);
    if (field !== undefined && object.length === field.length + 1)
      problems.push(`object: ${show(object)} names a field but no value; use e.g. run_id=<id>.`);
    else query.object = object;
  }

  const outcome = text("outcome");
  if (outcome !== undefined) {
    const bad = listOf(outcome).filter((token) => outcomeTest(token) === undefined);
    if (bad.length > 0 || listOf(outcome).length === 0) {
      problems.push(
        `outcome: ${show(bad.join(",") || outcome)} is not allow, deny, undecided, an HTTP status (403), a status class (5xx) or an error code in capitals (RESOURCE_DOES_NOT_EXIST, POLICY_DENIED).`,
      );
    } else {
      query.outcome = outcome;
    }
  }

  for (const name of ["since", "until"] as const) {
    const raw = text(name);
    if (raw === undefined) continue;
    const time = parseTime(raw, now);
    if (time === undefined) {
      problems.push(
        `${name}: ${show(raw)} is not a time; use ISO 8601 (2026-11-28, 2026-11-28T09:30:00Z; without a zone it is UTC) or a span back from now (30m, 24h, 7d, 2w).`,
      );
    } else {
      query[name] = time;
    }
  }
  if (query.since !== undefined && query.until !== undefined && query.since.getTime() >= query.until.getTime()) {
    problems.push(`until: ${query.until.toISOString()} is not after since (${query.since.toISOString()}); since is inclusive, until exclusive.`);
  }

  const limit = text("limit");
  if (limit !== undefined) {
    const value = /^\d+$/.test(limit) ? Number(limit) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < 1 || value > MAX_AUDIT_QUERY_LIMIT) {
      problems.push(`limit: ${show(limit)} is not a whole number from 1 to ${MAX_AUDIT_QUERY_LIMIT}.`);
    } else {
      query.limit = value;
    }
  }
  return { query, problems };
}

/** Whether one record answers the query. Digests never do. `limit` is the caller's to apply. */
export function matchesAuditQuery(record: AuditRecord, query: AuditQuery): boolean {
  return auditQueryMatcher(query)(record);
}

/** The same test, with the query prepared once: use it in a loop over many records. */
export function auditQueryMatcher(query: AuditQuery): (record: AuditRecord) => boolean {
  const tests: ((record: AuditRecord & { type: "event" }) => boolean)[] = [];
  if (query.person !== undefined) tests.push(personTest(query.person));
  if (query.action !== undefined) {
    const actions = new Set(listOf(query.action).map((action) => action.toLowerCase()));
    tests.push((record) => typeof record.action === "string" && actions.has(record.action.toLowerCase()));
  }
  if (query.object !== undefined) tests.push(objectTest(query.object));
  if (query.outcome !== undefined) {
    // Tokens were checked by parseAuditQuery; one that is not understood matches nothing.
    const outcomes = listOf(query.outcome).map((token) => outcomeTest(token) ?? (() => false));
    tests.push((record) => outcomes.some((test) => test(record)));
  }
  if (query.since !== undefined || query.until !== undefined) {
    const since = query.since?.getTime() ?? Number.NEGATIVE_INFINITY;
    const until = query.until?.getTime() ?? Number.POSITIVE_INFINITY;
    tests.push((record) => {
      const time = typeof record.event_time === "string" ? Date.parse(record.event_time) : Number.NaN;
      return time >= since && time < until;
    });
  }
  return (record) => record.type === "event" && tests.every((test) => test(record));
}

function personTest(person: string): (record: AuditRecord & { type: "event" }) => boolean {
  const wanted = person.toLowerCase();
  const bareName = !wanted.includes("@");
  return (record) => {
    const principal = (record.principal ?? {}) as Partial<typeof record.principal>;
    return [principal.email, principal.user_name, principal.subject].some((value) => {
      if (typeof value !== "string") return false;
      const candidate = value.toLowerCase();
      return candidate === wanted || (bareName && candidate.split("@")[0] === wanted);
    });
  };
}

function objectTest(object: string): (record: AuditRecord & { type: "event" }) => boolean {
  const field = qualifiedField(object);
  const value = field === undefined ? object : object.slice(field.length + 1);
  const matches = (name: string, candidate: unknown): boolean =>
    typeof candidate === "string" && (candidate === value || (name === "artifact_path" && isPathPrefix(value, candidate)));
  return (record) => {
    const objects = (record.objects ?? {}) as Record<string, unknown>;
    if (field !== undefined) return matches(field, objects[field]);
    return Object.entries(objects).some(([name, candidate]) => matches(name, candidate));
  };
}

/** `a/b` covers `a/b` and `a/b/c` but not `a/bc`: artifact paths are folders. */
function isPathPrefix(prefix: string, path: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

function outcomeTest(token: string): ((record: AuditRecord & { type: "event" }) => boolean) | undefined {
  const lower = token.toLowerCase();
  if (lower === "allow" || lower === "deny" || lower === "undecided") return (record) => record.outcome?.decision === lower;
  if (STATUS.test(token)) return (record) => record.outcome?.status === Number(token);
  if (STATUS_CLASS.test(token)) {
    const statusClass = Number(token[0]);
    return (record) => typeof record.outcome?.status === "number" && Math.floor(record.outcome.status / 100) === statusClass;
  }
  // MLflow's code, or the gateway's own when the gateway answered (POLICY_DENIED, UNAUTHENTICATED...).
  if (ERROR_CODE.test(token)) return (record) => record.outcome?.error_code === token || record.outcome?.gateway_error === token;
  return undefined;
}

/** `run_id=abc` -> "run_id"; artifact paths may hold "=", so only a known field name qualifies. */
function qualifiedField(object: string): string | undefined {
  const at = object.indexOf("=");
  if (at <= 0) return undefined;
  const field = object.slice(0, at);
  return OBJECT_FIELDS.has(field) ? field : undefined;
}

function parseTime(raw: string, now: Date): Date | undefined {
  const relative = RELATIVE.exec(raw);
  if (relative !== null) {
    const [, amount, unit] = relative;
    return new Date(now.getTime() - Number(amount) * (UNIT_MS[(unit ?? "").toLowerCase()] ?? Number.NaN));
  }
  const iso = ISO_TIME.exec(raw);
  if (iso === null) return undefined;
  const [, date, time, zone] = iso;
  if (time === undefined) return checkedDate(`${date}T00:00:00Z`, date);
  const [clock = "", fraction = ""] = time.split(".");
  const seconds = clock.length === 5 ? `${clock}:00` : clock;
  const millis = fraction === "" ? "" : `.${fraction.slice(0, 3).padEnd(3, "0")}`;
  const offset = zone === undefined || zone.toUpperCase() === "Z" ? "Z" : zone.includes(":") ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return checkedDate(`${date}T${seconds}${millis}${offset}`, date);
}

/** Rejects dates the calendar does not have (2026-02-30), which Date would roll over. */
function checkedDate(text: string, date: string | undefined): Date | undefined {
  const parsed = new Date(text);
  if (Number.isNaN(parsed.getTime()) || date === undefined) return undefined;
  const [year, month, day] = date.split("-").map(Number);
  const calendar = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 1));
  return calendar.getUTCDate() === day && calendar.getUTCMonth() === (month ?? 1) - 1 ? parsed : undefined;
}

function listOf(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}
