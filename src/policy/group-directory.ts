import type { Identity } from "../identity/identity.js";
import type { CallerGroups } from "./evaluator.js";
import type { GroupCacheSettings } from "./policy-document.js";

/** Reads one principal's groups from the workspace (SCIM, as the service principal). */
export type GroupSource = (principal: { kind: "user"; userName: string } | { kind: "service-principal"; applicationId: string }) => Promise<string[]>;

/** Refresh an answer in the background once it is this far into its lifetime. */
const REFRESH_AHEAD = 0.8;
const MAX_ENTRIES = 10_000;

interface Entry {
  names: ReadonlySet<string>;
  fetchedAt: number;
  refreshing: Promise<void> | undefined;
}

/**
 * Group membership for the policy, cached per person: an answer is reused for the cache
 * lifetime and refreshed in the background before it runs out, so a decision waits for
 * SCIM only on a person's first call. When SCIM fails, an answer younger than the stale
 * bound is still used; after that the caller's groups are unknown and the evaluator fails
 * closed (changes refused, with the reason in the 403).
 */
export class GroupDirectory {
  readonly #source: GroupSource | undefined;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Entry>>();
  #settings: GroupCacheSettings;
  #lastFailure: string | undefined;

  /** Without a source (local mode) nobody is in any group. */
  constructor(source: GroupSource | undefined, settings: GroupCacheSettings, now: () => number = Date.now) {
    this.#source = source;
    this.#settings = settings;
    this.#now = now;
  }

  /** A reloaded policy may change the lifetimes; answers already cached keep their age. */
  configure(settings: GroupCacheSettings): void {
    this.#settings = settings;
  }

  get lastFailure(): string | undefined {
    return this.#lastFailure;
  }

  async groupsOf(identity: Identity): Promise<CallerGroups> {
    if (this.#source === undefined) return { known: true, names: new Set() };
    const key = keyOf(identity);
    const entry = this.#entries.get(key);
    const age = entry === undefined ? Number.POSITIVE_INFINITY : this.#now() - entry.fetchedAt;
    if (entry !== undefined && age < this.#settings.ttlMs) {
      if (age > this.#settings.ttlMs * REFRESH_AHEAD && entry.refreshing === undefined) this.#refreshInBackground(key, identity, entry);
      return { known: true, names: entry.names };
    }
    try {
      return { known: true, names: (await this.#fetch(key, identity)).names };
    } catch (error) {
      const reason = `the workspace's group directory (SCIM) could not be read: ${describe(error)}`;
      if (entry !== undefined && age < this.#settings.staleMs) return { known: true, names: entry.names };
      return { known: false, reason };
    }
  }

  /** Forgets every answer (a test, or an operator who just changed groups). */
  clear(): void {
    this.#entries.clear();
  }

  #refreshInBackground(key: string, identity: Identity, entry: Entry): void {
    entry.refreshing = this.#fetch(key, identity).then(
      () => undefined,
      () => {
        entry.refreshing = undefined;
      },
    );
  }

  #fetch(key: string, identity: Identity): Promise<Entry> {
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return pending;
    const source = this.#source;
    if (source === undefined) return Promise.resolve({ names: new Set(), fetchedAt: this.#now(), refreshing: undefined });
    const promise = source(principalOf(identity))
      .then(
        (names) => {
          this.#lastFailure = undefined;
          const entry: Entry = { names: new Set(names), fetchedAt: this.#now(), refreshing: undefined };
          if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
          this.#entries.set(key, entry);
          return entry;
        },
        (error: unknown) => {
          this.#lastFailure = describe(error);
          throw error;
        },
      )
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }
}

function keyOf(identity: Identity): string {
  return (identity.email ?? identity.userName ?? identity.subject).toLowerCase();
}

/** People have an email (their SCIM userName); a service principal calls with its application id. */
function principalOf(identity: Identity): Parameters<GroupSource>[0] {
  if (identity.email !== undefined) return { kind: "user", userName: identity.email };
  return { kind: "service-principal", applicationId: identity.userName ?? identity.subject };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
