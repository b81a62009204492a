import { GatewayError } from "../errors.js";
import { readDatabricksError, type WorkspaceClient } from "../databricks/workspace-client.js";
import { type ArtifactTarget, databricksRoot, TRACE_LOCATION_TAG, toClientLocation } from "./artifact-locations.js";

/** A run's or logged model's artifact location never changes: a confirmed one is kept this long. */
const CONFIRMED_TTL_MS = 10 * 60_000;
const MAX_CONFIRMED = 10_000;

type TrackedTarget = Extract<ArtifactTarget, { kind: "run" | "logged-model" | "trace" }>;

/**
 * Confirms that an artifact path belongs to the run or logged model it names: the object
 * is read from the workspace as the service principal and its own artifact location must
 * be the path's root. A client cannot reach another run's files by writing its id into
 * a path of its own making, and nothing the client says about the experiment is trusted.
 */
export class ArtifactOwners {
  readonly #workspace: WorkspaceClient;
  readonly #confirmed = new Map<string, number>();

  constructor(workspace: WorkspaceClient) {
    this.#workspace = workspace;
  }

  async confirm(target: TrackedTarget): Promise<void> {
    const expected = databricksRoot(target);
    const key = `${target.kind}:${expected}`;
    const until = this.#confirmed.get(key);
    if (until !== undefined && until > Date.now()) return;
    const actual = await this.#location(target);
    if (actual.replace(/\/+$/, "") !== expected) {
      throw new GatewayError(
        "PATH_REJECTED",
        `The artifact path names ${describe(target)} in experiment ${target.experimentId}, but its artifacts are at ${toClientLocation(actual).slice(0, 300)}.`,
      );
    }
    if (this.#confirmed.size >= MAX_CONFIRMED) this.#confirmed.clear();
    this.#confirmed.set(key, Date.now() + CONFIRMED_TTL_MS);
  }

  async #location(target: TrackedTarget): Promise<string> {
    const path =
      target.kind === "run"
        ? `/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(target.runId)}`
        : target.kind === "trace"
          ? `/api/3.0/mlflow/traces/${encodeURIComponent(target.traceId)}`
          : `/api/2.0/mlflow/logged-models/${encodeURIComponent(target.modelId)}`;
    const response = await this.#workspace.send(path, { signal: AbortSignal.timeout(10_000) });
    if (response.ok) {
      const body = (await response.json()) as {
        run?: { info?: { artifact_uri?: unknown } };
        model?: { info?: { artifact_uri?: unknown } };
        trace?: { trace_info?: { tags?: Record<string, unknown> } };
      };
      const location =
        target.kind === "run"
          ? body.run?.info?.artifact_uri
          : target.kind === "trace"
            ? body.trace?.trace_info?.tags?.[TRACE_LOCATION_TAG]
            : body.model?.info?.artifact_uri;
      if (typeof location === "string") return location;
      throw new GatewayError("UPSTREAM_ERROR", `The workspace described ${describe(target)} without an artifact location.`);
    }
    const error = await readDatabricksError(response);
    if (response.status === 404 || error.code === "RESOURCE_DOES_NOT_EXIST" || error.code === "NOT_FOUND") {
      throw new GatewayError("ARTIFACT_NOT_FOUND", `There is no ${describe(target)} in this workspace.`);
    }
    if (response.status === 429) {
      throw new GatewayError("BACKEND_THROTTLED", `The workspace is rate limiting the app while it looked up ${describe(target)}; retry shortly.`, {
        retryAfterSeconds: 2,
      });
    }
    if (response.status === 403) {
      throw new GatewayError(
        "BACKEND_FORBIDDEN",
        `The app's service principal may not read ${describe(target)}: it needs CAN_READ on experiment ${target.experimentId} (${error.code ?? "403"}).`,
      );
    }
    throw new GatewayError(
      "BACKEND_UNAVAILABLE",
      `The workspace failed to look up ${describe(target)} (${response.status}${error.code === undefined ? "" : ` ${error.code}`}).`,
      {
        retryAfterSeconds: 5,
      },
    );
  }
}

export function describe(target: ArtifactTarget): string {
  if (target.kind === "run") return `run ${target.runId}`;
  if (target.kind === "logged-model") return `logged model ${target.modelId}`;
  if (target.kind === "trace") return `trace ${target.traceId}`;
  return `version ${target.version} of model ${target.name}`;
}
