import { GatewayError } from "../errors.js";

/** The tag the gateway writes on what a person creates through it; clients may not write it. */
export const OWNER_TAG = "gateway.owner";

export interface ExperimentFacts {
  id: string;
  name: string;
  owner: string | undefined;
}

export interface ModelFacts {
  owner: string | undefined;
}

/** A run, logged model or trace never moves to another experiment: its answer is kept long. */
const PARENT_TTL_MS = 10 * 60_000;
/** Experiments are renamed and tags change: names and owners are kept briefly. */
const FACTS_TTL_MS = 30_000;
const MAX_ENTRIES = 20_000;
const LOOKUP_TIMEOUT_MS = 15_000;

type ParentKind = "run" | "logged-model" | "trace";

/**
 * What the policy needs to know about objects, read from MLflow itself (the child, as the
 * service principal) and never from the client: which experiment a run, logged model or
 * trace belongs to, an experiment's name, and who created an experiment or model. Misses
 * cost one loopback call; answers are cached. An object that does not exist is
 * `undefined`, which the evaluator treats like one no scoped grant covers, so a refusal
 * never tells whether it exists.
 */
export class ObjectLookup {
  readonly #childUrl: () => string;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: unknown; until: number }>();

  constructor(childUrl: () => string, now: () => number = Date.now) {
    this.#childUrl = childUrl;
    this.#now = now;
  }

  experimentOf(kind: ParentKind, id: string): Promise<string | undefined> {
    return this.#cached(`${kind}:${id}`, PARENT_TTL_MS, async () => {
      if (kind === "run") {
        const body = await this.#get(`/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(id)}`);
        return stringAt(body, ["run", "info", "experiment_id"]);
      }
      if (kind === "logged-model") {
        const body = await this.#get(`/api/2.0/mlflow/logged-models/${encodeURIComponent(id)}`);
        return stringAt(body, ["model", "info", "experiment_id"]);
      }
      const body = await this.#get(`/api/3.0/mlflow/traces/${encodeURIComponent(id)}`);
      return stringAt(body, ["trace", "trace_info", "trace_location", "mlflow_experiment", "experiment_id"]);
    });
  }

  experiment(id: string): Promise<ExperimentFacts | undefined> {
    return this.#cached(`experiment:${id}`, FACTS_TTL_MS, async () => {
      const body = await this.#get(`/api/2.0/mlflow/experiments/get?experiment_id=${encodeURIComponent(id)}`);
      return experimentFacts(body);
    });
  }

  experimentByName(name: string): Promise<ExperimentFacts | undefined> {
    return this.#cached(`experiment-name:${name}`, FACTS_TTL_MS, async () => {
      const body = await this.#get(`/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
      return experimentFacts(body);
    });
  }

  model(name: string): Promise<ModelFacts | undefined> {
    return this.#cached(`model:${name.toLowerCase()}`, FACTS_TTL_MS, async () => {
      const body = await this.#get(`/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(name)}`);
      if (body === undefined) return undefined;
      return { owner: ownerIn(valueAt(body, ["registered_model", "tags"])) };
    });
  }

  /** After the gateway passed a rename or tag change, the next decision reads fresh facts. */
  forget(kind: "experiment" | "model", key: string): void {
    if (kind === "model") this.#cache.delete(`model:${key.toLowerCase()}`);
    else this.#cache.delete(`experiment:${key}`);
    for (const cached of this.#cache.keys()) if (cached.startsWith("experiment-name:")) this.#cache.delete(cached);
  }

  async #cached<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.until > this.#now()) return hit.value as T;
    const value = await load();
    if (this.#cache.size >= MAX_ENTRIES) this.#cache.clear();
    // Absence is kept briefly only: the object may be created a moment later.
    this.#cache.set(key, { value, until: this.#now() + (value === undefined ? Math.min(ttlMs, 5_000) : ttlMs) });
    return value;
  }

  /** The child's JSON answer; undefined when the object does not exist (or its id is malformed). */
  async #get(path: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.#childUrl()}${path}`, { signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS) });
    } catch (error) {
      throw new GatewayError(
        "UPSTREAM_UNAVAILABLE",
        "MLflow could not be asked about the object this call touches, so the policy cannot decide; retry shortly.",
        {
          cause: error,
          retryAfterSeconds: 2,
        },
      );
    }
    if (response.ok) return response.json();
    const text = await response.text();
    if (response.status === 404 || response.status === 400 || /RESOURCE_DOES_NOT_EXIST|INVALID_PARAMETER_VALUE|NOT_FOUND/.test(text))
      return undefined;
    if (response.status === 403 || /PERMISSION_DENIED/.test(text)) return undefined;
    throw new GatewayError(
      "BACKEND_UNAVAILABLE",
      `Looking up the object this call touches failed (${response.status}), so the policy cannot decide; retry shortly.`,
      {
        retryAfterSeconds: 5,
      },
    );
  }
}

function experimentFacts(body: unknown): ExperimentFacts | undefined {
  const id = stringAt(body, ["experiment", "experiment_id"]);
  const name = stringAt(body, ["experiment", "name"]);
  if (id === undefined || name === undefined) return undefined;
  return { id, name, owner: ownerIn(valueAt(body, ["experiment", "tags"])) };
}

/** The creator recorded in an object's tags (MLflow's [{key, value}] list), if any. */
export function ownerIn(tags: unknown): string | undefined {
  if (!Array.isArray(tags)) return undefined;
  const tag = tags.find((t: { key?: unknown }) => t?.key === OWNER_TAG) as { value?: unknown } | undefined;
  return typeof tag?.value === "string" && tag.value !== "" ? tag.value : undefined;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function stringAt(value: unknown, path: readonly string[]): string | undefined {
  const found = valueAt(value, path);
  return typeof found === "string" && found !== "" ? found : typeof found === "number" ? String(found) : undefined;
}
