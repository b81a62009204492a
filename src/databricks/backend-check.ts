import type { ReadinessCheck } from "../readiness.js";
import type { Logger } from "../log/create-logger.js";
import { WorkspaceError, type WorkspaceClient, type WorkspaceFailure } from "./workspace-client.js";

/** A healthy backend is re-checked this often (one token renewal at most, one tiny call). */
export const CHECK_INTERVAL_OK_MS = 60_000;
/** A failing backend is re-checked this often, so recovery is noticed by itself. */
export const CHECK_INTERVAL_FAILING_MS = 5_000;
/** After the child reports a server error, one full check (fresh token) runs at most this often. */
export const SUSPICION_DEBOUNCE_MS = 5_000;

export interface BackendStatus {
  ok: boolean;
  failure: WorkspaceFailure | undefined;
  detail: string;
  checkedAt: string | undefined;
}

/** What an operator should do about each failure. */
const ADVICE: Record<WorkspaceFailure, string> = {
  unreachable: "check DATABRICKS_HOST and the network path to the workspace",
  "bad-credentials": "check DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET (or DATABRICKS_TOKEN)",
  "token-endpoint-failed": "the workspace's OAuth endpoint is failing; it usually recovers by itself",
  forbidden: "grant the app's service principal access to MLflow experiments in the workspace",
  "rate-limited": "the workspace is throttling the app; requests will succeed again shortly",
  "workspace-error": "the workspace is having trouble; it usually recovers by itself",
  "unexpected-answer": "the workspace answered something the gateway does not understand; check DATABRICKS_HOST",
};

/**
 * "Can the child reach Databricks with these credentials?" Checked once at start (a
 * token and one cheap MLflow call), then periodically: rarely while healthy, often while
 * failing. Never stops the gateway: a bad secret must not become a crash loop.
 */
export class BackendCheck implements ReadinessCheck {
  readonly name = "databricks";
  #status: BackendStatus = { ok: false, failure: undefined, detail: "not checked yet", checkedAt: undefined };
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastSuspicion = 0;

  constructor(
    private readonly client: WorkspaceClient,
    private readonly logger: Logger,
  ) {}

  check(): { ok: boolean; detail: string } {
    return { ok: this.#status.ok, detail: this.#status.detail };
  }

  get status(): BackendStatus {
    return this.#status;
  }

  /** Runs one check now, then keeps checking in the background until stop(). */
  async start(): Promise<BackendStatus> {
    await this.runOnce();
    this.#schedule();
    return this.#status;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /**
   * The child answered a server error: find out now whether Databricks is the cause
   * (token endpoint down, throttling, credentials revoked), so the next callers and
   * readiness get the precise reason instead of the child's generic one.
   */
  suspect(): void {
    const now = Date.now();
    if (this.#stopped || now - this.#lastSuspicion < SUSPICION_DEBOUNCE_MS) return;
    this.#lastSuspicion = now;
    void this.runOnce(true).then(() => {
      clearTimeout(this.#timer);
      this.#schedule();
    });
  }

  async runOnce(freshToken = false): Promise<BackendStatus> {
    const previous = this.#status;
    try {
      // The cheapest MLflow call that proves token, workspace and permission together.
      const response = await this.client.request("/api/2.0/mlflow/experiments/search?max_results=1", {}, freshToken);
      if (!response.ok) throw new WorkspaceError("unexpected-answer", `experiments/search answered ${response.status}`, response.status);
      await response.body?.cancel();
      this.#status = {
        ok: true,
        failure: undefined,
        detail: `reachable at ${this.client.host} with the service principal's credentials`,
        checkedAt: new Date().toISOString(),
      };
      if (!previous.ok) this.logger.info("Databricks backend check passed", { host: this.client.host });
    } catch (error) {
      const failure = error instanceof WorkspaceError ? error.failure : "unexpected-answer";
      const reason = error instanceof Error ? error.message : String(error);
      this.#status = { ok: false, failure, detail: `${reason}: ${ADVICE[failure]}`, checkedAt: new Date().toISOString() };
      if (previous.ok || previous.failure !== failure) {
        this.logger.error(`Databricks backend check failed: ${this.#status.detail}`, { failure, host: this.client.host });
      }
    }
    return this.#status;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = this.#status.ok ? CHECK_INTERVAL_OK_MS : CHECK_INTERVAL_FAILING_MS;
    this.#timer = setTimeout(() => {
      void this.runOnce().finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }
}
