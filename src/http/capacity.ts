import type { Server } from "node:http";
import type { Socket } from "node:net";

/**
 * How many connections and concurrent calls the gateway takes before it answers 503 with
 * Retry-After instead of slowing everyone down (or running out of file descriptors).
 *
 * Connections are counted in total, not per address: behind the Databricks Apps front door
 * every connection comes from the front door's own proxies, so a per-address cap would
 * throttle the whole team as one client. The per-client bound is on calls in flight per
 * verified person (per address only in local mode, where everyone is the same local user).
 */
export interface CapacityLimits {
  maxConnections: number;
  maxRequestsPerClient: number;
}

/** Connections beyond the cap still get their 503 up to this many more; past that Node drops them unanswered. */
const ANSWERED_OVERFLOW = 256;
/** What a refused client is told to wait before retrying. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;

export class Capacity {
  readonly #limits: CapacityLimits;
  readonly #overflow = new WeakSet<Socket>();
  readonly #inFlight = new Map<string, number>();
  #connections = 0;

  constructor(limits: CapacityLimits) {
    this.#limits = limits;
  }

  /** Counts the server's connections; a connection accepted over the cap is marked for a 503. */
  attach(server: Server): void {
    server.maxConnections = this.#limits.maxConnections + ANSWERED_OVERFLOW;
    server.on("connection", (socket: Socket) => {
      this.#connections += 1;
      if (this.#connections > this.#limits.maxConnections) this.#overflow.add(socket);
      socket.once("close", () => {
        this.#connections -= 1;
      });
    });
  }

  get connections(): number {
    return this.#connections;
  }

  /** The connection was accepted over the cap: its request is answered 503 and the connection closed. */
  isOverflow(socket: Socket | null): boolean {
    return socket !== null && this.#overflow.has(socket);
  }

  /** Takes a slot for a call of `client`; false when the client has its maximum in flight. */
  acquire(client: string): boolean {
    const current = this.#inFlight.get(client) ?? 0;
    if (current >= this.#limits.maxRequestsPerClient) return false;
    this.#inFlight.set(client, current + 1);
    return true;
  }

  release(client: string): void {
    const current = this.#inFlight.get(client) ?? 0;
    if (current <= 1) this.#inFlight.delete(client);
    else this.#inFlight.set(client, current - 1);
  }

  get maxRequestsPerClient(): number {
    return this.#limits.maxRequestsPerClient;
  }

  get maxConnections(): number {
    return this.#limits.maxConnections;
  }
}
