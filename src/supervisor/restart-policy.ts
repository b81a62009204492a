/**
 * When to restart a child that exited, and when to call it a crash loop. Pure logic on
 * timestamps, so the supervisor's timing is unit-tested without processes or clocks.
 */

export interface RestartPolicyOptions {
  /** Delay before the first restart. */
  initialDelayMs: number;
  /** Upper bound of the exponential backoff; a crash loop keeps retrying at this pace. */
  maxDelayMs: number;
  factor: number;
  /** This many consecutive failures make a crash loop. */
  crashLoopThreshold: number;
  /** A child that stayed ready this long has recovered: the failure count starts over. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  crashLoopThreshold: 5,
  stableAfterMs: 60_000,
};

export interface RestartDecision {
  delayMs: number;
  consecutiveFailures: number;
  crashLoop: boolean;
}

export class RestartPolicy {
  #consecutiveFailures = 0;
  #readySince: number | undefined;

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** The child answered its health check. */
  recordReady(now: number): void {
    this.#readySince = now;
  }

  /** The child exited (or never became ready): how long to wait before the next start. */
  recordFailure(now: number): RestartDecision {
    if (this.#readySince !== undefined && now - this.#readySince >= this.options.stableAfterMs) {
      this.#consecutiveFailures = 0;
    }
    this.#readySince = undefined;
    this.#consecutiveFailures += 1;
    const { initialDelayMs, maxDelayMs, factor, crashLoopThreshold } = this.options;
    const delayMs = Math.min(maxDelayMs, initialDelayMs * factor ** (this.#consecutiveFailures - 1));
    return {
      delayMs,
      consecutiveFailures: this.#consecutiveFailures,
      crashLoop: this.#consecutiveFailures >= crashLoopThreshold,
    };
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }
}
