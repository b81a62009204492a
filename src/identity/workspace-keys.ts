import { createLocalJWKSet, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from "jose";
import { errors } from "jose";
import { GatewayError } from "../errors.js";

export interface WorkspaceKeysOptions {
  /** Workspace origin, e.g. https://adb-1.azuredatabricks.net. */
  host: string;
  /** One discovery or JWKS request may take this long. */
  fetchTimeoutMs: number;
  /** An unknown `kid` triggers a refetch at most this often (no refetch storms). */
  cooldownMs: number;
  /** Keys older than this are refreshed; a failed refresh keeps the old ones. */
  maxAgeMs: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export const DEFAULT_KEYS_OPTIONS = { fetchTimeoutMs: 5_000, cooldownMs: 30_000, maxAgeMs: 10 * 60_000 };

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

/** What the gateway takes from the workspace's OAuth discovery document. */
interface Discovery {
  issuer: string;
  jwksUri: string;
}

/**
 * The workspace's signing keys and token issuer, found through its OAuth discovery
 * document ({host}/oidc/.well-known/oauth-authorization-server). Both the issuer and the
 * jwks_uri come from that document, not from DATABRICKS_HOST: a workspace reached through
 * another host name (an alias, a regional host) names its own issuer there. Unlike jose's
 * remote key set, a failed refresh keeps serving the keys already known: an outage of the
 * key endpoint must not lock everyone out, while with no keys at all verification fails
 * closed (503), never open.
 */
export class WorkspaceKeys {
  readonly #discoveryUrl: string;
  readonly #options: WorkspaceKeysOptions;
  #discovery: Discovery | undefined;
  #resolver: KeyResolver | undefined;
  #fetchedAt = 0;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  /** Successful and failed fetches of the key set, for tests and metrics. */
  readonly stats = { fetches: 0, failures: 0 };

  constructor(options: WorkspaceKeysOptions) {
    this.#options = options;
    this.#discoveryUrl = `${options.host}/oidc/.well-known/oauth-authorization-server`;
  }

  /** The `iss` every workspace token must carry, from the discovery document (fetched on first use). */
  async issuer(): Promise<string> {
    if (this.#discovery === undefined) await this.#refresh().catch(() => undefined);
    if (this.#discovery === undefined) throw unavailable("the workspace's OAuth discovery document could not be read");
    return this.#discovery.issuer;
  }

  /** jose's key lookup: the key for this token's header, refetching once for an unknown `kid`. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const now = this.#now();
    if (this.#resolver === undefined) {
      await this.#refresh();
    } else if (now - this.#fetchedAt > this.#options.maxAgeMs && now - this.#lastAttemptAt > this.#options.cooldownMs) {
      await this.#refresh().catch(() => undefined);
    }
    const resolver = this.#resolver;
    if (resolver === undefined) throw unavailable("the workspace's signing keys could not be fetched");
    try {
      return await resolver(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A refetch under way (or just finished) may bring this key: wait for it rather
      // than refusing a valid token that arrived during someone else's refetch.
      if (this.#inflight !== undefined || this.#resolver !== resolver) {
        await this.#inflight?.catch(() => undefined);
        return await (this.#resolver ?? resolver)(header, token);
      }
      if (this.#now() - this.#lastAttemptAt < this.#options.cooldownMs) throw error;
      // Perhaps the workspace rotated its keys: look once, then answer from what we have.
      await this.#refresh().catch(() => undefined);
      return await (this.#resolver ?? resolver)(header, token);
    }
  };

  /** Changes whenever a new key set is loaded; verified tokens from older sets are re-checked. */
  get generation(): number {
    return this.stats.fetches;
  }

  /** True once a key set has been loaded (readiness). */
  get loaded(): boolean {
    return this.#resolver !== undefined;
  }

  async #refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #load(): Promise<void> {
    this.#lastAttemptAt = this.#now();
    try {
      this.#discovery ??= await this.#discover();
      const { jwksUri } = this.#discovery;
      const jwks = await this.#getJson<JSONWebKeySet>(jwksUri);
      if (!Array.isArray(jwks.keys)) throw new Error(`${jwksUri} returned no "keys" array`);
      this.#resolver = createLocalJWKSet(jwks);
      this.#fetchedAt = this.#now();
      this.stats.fetches += 1;
    } catch (error) {
      this.stats.failures += 1;
      throw unavailable(`the workspace's signing keys could not be fetched (${describe(error)})`, error);
    }
  }

  async #discover(): Promise<Discovery> {
    const url = this.#discoveryUrl;
    const document = await this.#getJson<{ issuer?: unknown; jwks_uri?: unknown }>(url);
    if (!isHttpUrl(document.issuer)) throw new Error(`${url} has no usable issuer`);
    if (!isHttpUrl(document.jwks_uri)) throw new Error(`${url} has no usable jwks_uri`);
    return { issuer: document.issuer, jwksUri: document.jwks_uri };
  }

  async #getJson<T>(url: string): Promise<T> {
    const response = await (this.#options.fetch ?? fetch)(url, {
      signal: AbortSignal.timeout(this.#options.fetchTimeoutMs),
      headers: { accept: "application/json" },
    });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return (await response.json()) as T;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const { protocol } = new URL(value);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}

function unavailable(message: string, cause?: unknown): GatewayError {
  return new GatewayError("IDENTITY_UNAVAILABLE", `Cannot verify identities right now: ${message}. Retry shortly.`, { cause, retryAfterSeconds: 5 });
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error.cause as { code?: string } | undefined)?.code;
    return code ? `${error.message}: ${code}` : error.message;
  }
  return String(error);
}
