import type { IncomingHttpHeaders } from "node:http";
import type { Identity } from "../identity/identity.js";
import { accessRuleOf, type ObjectRef, type SearchKind } from "./access-rules.js";
import { type Caller, dependsOnObject, evaluate, needsReadFilter, type PolicyVerdict, referencesGroups, type Target } from "./evaluator.js";
import type { GroupDirectory } from "./group-directory.js";
import { graphqlObjects } from "./graphql-access.js";
import type { ObjectLookup } from "./object-lookup.js";
import type { PolicyDocument } from "./policy-document.js";

/** Where the policy in force comes from (policy/policy-store.ts). */
export interface PolicySource {
  current(): PolicyDocument;
}

/** One MLflow call as the authorizer sees it; the body is read only when a decision needs it. */
export interface CallFacts {
  identity: Identity;
  method: string;
  operation: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body(): Promise<Record<string, unknown>>;
}

export interface Authorization {
  verdict: PolicyVerdict;
  /** The object a refusal is about, in the client's own words (ids it sent), never a looked-up name. */
  object: string | undefined;
  /** Set for searches whose answer must be narrowed to what the caller may read. */
  filter: SearchKind | undefined;
  /** A GraphQL answer whose model versions must be narrowed to the readable models. */
  filterModelVersions?: boolean;
  caller: Caller;
}

export interface AuthorizerOptions {
  policy: PolicySource;
  groups: GroupDirectory;
  lookup: ObjectLookup;
  /** The name an experiment will have in the backend (Databricks files plain names under a root folder). */
  experimentName(name: string): string;
}

interface Decidable {
  target: Target;
  /** For the 403: what the client named. */
  label: string;
  /** Not decided: the answer's model versions are filtered instead. */
  modelVersions?: boolean;
}

/** Rule names for calls the policy never gets to weigh. */
export const UNREVIEWED_OPERATION = "unreviewed-operation";
export const READ_FILTER = "read-filter";

/**
 * Decides one call: which permission its operation needs (policy/access-rules.ts), which
 * objects it touches (looked up in MLflow only when the verdict can depend on them), and
 * the policy's verdict on each. Every object must pass; the first refusal is the answer.
 */
export class Authorizer {
  readonly #options: AuthorizerOptions;

  constructor(options: AuthorizerOptions) {
    this.#options = options;
  }

  get policy(): PolicyDocument {
    return this.#options.policy.current();
  }

  async callerOf(identity: Identity, policy: PolicyDocument = this.policy): Promise<Caller> {
    if (!referencesGroups(policy)) return { identity, groups: { known: true, names: new Set() } };
    return { identity, groups: await this.#options.groups.groupsOf(identity) };
  }

  /** The gateway's own admin pages (the audit viewer). */
  async authorizeAdmin(identity: Identity): Promise<Authorization> {
    const policy = this.policy;
    const caller = await this.callerOf(identity, policy);
    return { verdict: evaluate(policy, caller, "ADMIN", { kind: "global" }), object: undefined, filter: undefined, caller };
  }

  async authorize(call: CallFacts): Promise<Authorization> {
    const policy = this.policy;
    const caller = await this.callerOf(call.identity, policy);
    const rule = accessRuleOf(call.operation);
    const result = (verdict: PolicyVerdict, object?: string, filter?: SearchKind): Authorization => ({ verdict, object, filter, caller });
    if (rule === undefined) return result({ allow: false, rule: UNREVIEWED_OPERATION, need: "ADMIN", grant: undefined });
    if (rule.need === "open") return result({ allow: true, rule: "open", need: "READ", grant: undefined });
    const need = rule.need;
    const global = evaluate(policy, caller, need, { kind: "global" });

    const search = rule.objects.find((o) => o.kind === "search");
    if (search?.kind === "search") {
      const kind = search.of === "experiments" ? "experiment" : "model";
      if (!needsReadFilter(policy, caller, kind)) return result(global);
      return result({ allow: true, rule: READ_FILTER, need, grant: undefined }, undefined, search.of);
    }
    const aliasCall = rule.objects.some((o) => o.kind === "model" && o.aliasField !== undefined) && policy.aliasGuards.length > 0;
    if (!aliasCall && !dependsOnObject(policy, caller, need)) return result(global);

    const decidables = await this.#decidables(rule.objects, call, policy, caller);
    const filterModelVersions = decidables.some((d) => d.modelVersions === true);
    const decided = decidables.filter((d) => d.modelVersions !== true);
    if (decided.length === 0)
      return { ...result(filterModelVersions ? { allow: true, rule: READ_FILTER, need, grant: undefined } : global), filterModelVersions };
    let first: PolicyVerdict | undefined;
    for (const { target, label } of decided) {
      const verdict = evaluate(policy, caller, need, target);
      if (!verdict.allow) return result(verdict, label);
      first ??= verdict;
    }
    return { ...result(first ?? global), filterModelVersions };
  }

  /** Whether the caller may read one object of a search answer. */
  canRead(caller: Caller, target: Target, policy: PolicyDocument = this.policy): boolean {
    return evaluate(policy, caller, "READ", target).allow;
  }

  /** The experiment target of an experiment id (its name and owner looked up). */
  async experimentTarget(id: string): Promise<Target> {
    const facts = await this.#options.lookup.experiment(id);
    return { kind: "experiment", id, name: facts?.name, owner: facts?.owner };
  }

  async modelTarget(name: string, alias: string | undefined, withOwner: boolean): Promise<Target> {
    const owner = withOwner ? (await this.#options.lookup.model(name))?.owner : undefined;
    return { kind: "model", name, owner, alias };
  }

  async #decidables(objects: readonly ObjectRef[], call: CallFacts, policy: PolicyDocument, caller: Caller): Promise<Decidable[]> {
    const found: Decidable[] = [];
    const { lookup } = this.#options;
    const parent = async (kind: "run" | "logged-model" | "trace", id: string): Promise<Decidable> => {
      const experimentId = await lookup.experimentOf(kind, id);
      const target: Target =
        experimentId === undefined
          ? { kind: "experiment", id: undefined, name: undefined, owner: undefined }
          : await this.experimentTarget(experimentId);
      return { target, label: `${kind === "logged-model" ? "logged model" : kind} ${id}` };
    };
    for (const ref of objects) {
      switch (ref.kind) {
        case "experiment":
        case "experiments":
        case "header-experiment": {
          const ids = ref.kind === "header-experiment" ? headerValues(call.headers, ref.header) : await this.#values(call, ref.field);
          for (const id of ids) found.push({ target: await this.experimentTarget(id), label: `experiment ${id}` });
          break;
        }
        case "experiment-name": {
          for (const raw of await this.#values(call, ref.field)) {
            const name = this.#options.experimentName(raw);
            const facts = await lookup.experimentByName(name);
            found.push({ target: { kind: "experiment", id: facts?.id, name, owner: facts?.owner }, label: `experiment ${JSON.stringify(raw)}` });
          }
          break;
        }
        case "run":
        case "logged-model":
        case "trace": {
          for (const id of await this.#values(call, ref.field)) found.push(await parent(ref.kind, id));
          break;
        }
        case "runs":
        case "traces":
          for (const id of await this.#values(call, ref.field)) found.push(await parent(ref.kind === "runs" ? "run" : "trace", id));
          break;
        case "model":
        case "model-name": {
          const aliases = ref.kind === "model" && ref.aliasField !== undefined ? await this.#values(call, ref.aliasField) : [];
          for (const name of await this.#values(call, ref.field)) {
            for (const alias of aliases.length > 0 ? aliases : [undefined]) {
              found.push({ target: await this.modelTarget(name, alias, policy.creatorsOwn), label: `registered model ${JSON.stringify(name)}` });
            }
          }
          break;
        }
        case "artifact": {
          const runIds = ref.runField === undefined ? [] : await this.#values(call, ref.runField);
          for (const runId of runIds) found.push(await parent("run", runId));
          if (runIds.length > 0) break;
          for (const path of await this.#values(call, ref.field)) {
            const owner = artifactOwner(path);
            const label = `artifact path ${JSON.stringify(path)}`;
            if (owner?.kind === "experiment") found.push({ target: await this.experimentTarget(owner.id), label });
            else if (owner?.kind === "model") found.push({ target: await this.modelTarget(owner.name, undefined, policy.creatorsOwn), label });
            else found.push({ target: { kind: "global" }, label });
          }
          break;
        }
        case "trace-locations": {
          const body = call.method === "GET" ? {} : await call.body();
          const locations = Array.isArray(body["locations"]) ? body["locations"] : [];
          for (const location of locations) {
            const id = idIn((location as { mlflow_experiment?: { experiment_id?: unknown } } | null)?.mlflow_experiment?.experiment_id);
            // A location of another kind (a UC table) names no experiment: only a global grant covers it.
            found.push(
              id === undefined
                ? { target: { kind: "global" }, label: "a trace location" }
                : { target: await this.experimentTarget(id), label: `experiment ${id}` },
            );
          }
          break;
        }
        case "graphql":
          if (!needsReadFilter(policy, caller, "experiment") && !needsReadFilter(policy, caller, "model")) break;
          for (const object of await this.#graphql(call)) {
            if (object.kind === "experiment") found.push({ target: await this.experimentTarget(object.id), label: `experiment ${object.id}` });
            else if (object.kind === "run") found.push(await parent("run", object.id));
            else if (object.kind === "model-versions") {
              if (needsReadFilter(policy, caller, "model")) found.push({ target: { kind: "global" }, label: "model versions", modelVersions: true });
            } else found.push({ target: { kind: "global" }, label: `this GraphQL query (${object.why})` });
          }
          break;
        case "search":
        case "none":
          break;
      }
    }
    return found;
  }

  async #graphql(call: CallFacts): Promise<ReturnType<typeof graphqlObjects>> {
    if (call.method === "GET") {
      const variables = call.query.get("variables");
      return graphqlObjects(call.query.get("query") ?? "", variables === null ? undefined : parseVariables(variables));
    }
    const body = await call.body();
    const variables = body["variables"];
    return graphqlObjects(
      typeof body["query"] === "string" ? body["query"] : "",
      typeof variables === "object" && variables !== null ? (variables as Record<string, unknown>) : undefined,
    );
  }

  /**
   * A field's values where MLflow reads them (every value, when a client repeats a
   * parameter: each must pass, so a repeat cannot make the gateway judge one object while
   * MLflow acts on another): path parameters, else the query for GET
   * (MLflow's _get_request_message), else the JSON body. A `query:` prefix marks the few
   * handlers that read the query whatever the method (the UI's upload).
   */
  async #values(call: CallFacts, field: string): Promise<string[]> {
    for (const spelling of field.split("|")) {
      const fromQuery = spelling.startsWith("query:");
      const name = fromQuery ? spelling.slice("query:".length) : spelling;
      const param = call.params[name];
      if (param !== undefined && param !== "") return [param];
      if (fromQuery || call.method === "GET" || call.method === "HEAD") {
        const values = call.query.getAll(name).filter((v) => v !== "");
        if (values.length > 0) return values;
        continue;
      }
      const value = valueAt(await call.body(), name.split("."));
      const values = (Array.isArray(value) ? value : [value]).map(idIn).filter((v): v is string => v !== undefined);
      if (values.length > 0) return values;
    }
    return [];
  }
}

/** Whose folder an artifact path is in: the experiment (tracking layouts, local and Databricks) or the registered model. */
export function artifactOwner(path: string): { kind: "experiment"; id: string } | { kind: "model"; name: string } | undefined {
  const segments = path.replace(/^\/+/, "").split("/");
  if (segments.some((s) => s === ".." || s === ".")) return undefined;
  if (segments[0] === "databricks" && segments[1] === "mlflow-tracking") return numeric(segments[2]);
  if (segments[0] === "unity-catalog" && segments[1] === "models" && segments[2] !== undefined && segments[2] !== "")
    return { kind: "model", name: segments[2] };
  return numeric(segments[0]);
}

function numeric(segment: string | undefined): { kind: "experiment"; id: string } | undefined {
  return segment !== undefined && /^\d{1,20}$/.test(segment) ? { kind: "experiment", id: segment } : undefined;
}

function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => v.trim()).filter((v) => v !== "");
}

function parseVariables(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function idIn(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}
