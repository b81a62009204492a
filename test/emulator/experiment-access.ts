// "May this principal read (or change) this experiment?" for every MLflow call
// that touches one. Experiments are workspace objects: their ACL is the
// folder's (inherited) plus direct grants (Permissions API), and an
// experiment that is not in the workspace (the backing server's "Default", id
// 0) does not exist at all. Runs, logged models and traces belong to the
// experiment they were created in; the emulator looks that up in the backing
// server and caches it, since it never changes.
//
// Messages: "Node ID <id> does not exist." (RESOURCE_DOES_NOT_EXIST, seen for
// experiments/get of unknown ids, mlflow#2247 and public client code quoting
// it); "User <u> does not have permission to 'View' experiment with id <id>"
// (PERMISSION_DENIED, docs.azure.cn .../kb/machine-learning/mlflow-artifacts-permission-denied).

import { backingCall } from "./backing-client.js";
import type { EmulatorContext } from "./context.js";
import type { Principal } from "./principals.js";
import { type PermissionLevel, type WorkspaceTree, WorkspaceRefusal, atLeast, principalLabel } from "./workspace-tree.js";

export interface ExperimentRef {
  id: string;
  /** The workspace path. */
  name: string;
  lifecycleStage: string;
}

const ACTION: Record<"CAN_READ" | "CAN_EDIT" | "CAN_MANAGE", string> = { CAN_READ: "View", CAN_EDIT: "Edit", CAN_MANAGE: "Manage" };

/** Experiments that exist in the workspace: their names are workspace paths. */
export function isWorkspaceExperiment(name: unknown): name is string {
  return typeof name === "string" && name.startsWith("/");
}

export class ExperimentAccess {
  readonly #runs = new Map<string, string>();
  readonly #models = new Map<string, string>();
  readonly #traces = new Map<string, string>();

  constructor(
    private readonly workspace: WorkspaceTree,
    private readonly backing: Pick<EmulatorContext, "backingUrl">,
  ) {}

  /** The experiment as the workspace sees it, or undefined (unknown id, or not a workspace object). */
  async byId(id: string): Promise<ExperimentRef | undefined> {
    if (!/^\d+$/.test(id)) return undefined;
    const got = await backingCall(this.backing, "GET", "/api/2.0/mlflow/experiments/get", { query: { experiment_id: id } });
    const exp = got.json.experiment as { experiment_id?: string; name?: string; lifecycle_stage?: string } | undefined;
    if (got.status !== 200 || !exp || !isWorkspaceExperiment(exp.name)) return undefined;
    return { id, name: exp.name, lifecycleStage: exp.lifecycle_stage ?? "active" };
  }

  async byName(name: string): Promise<ExperimentRef | undefined> {
    if (!isWorkspaceExperiment(name)) return undefined;
    const got = await backingCall(this.backing, "GET", "/api/2.0/mlflow/experiments/get-by-name", { query: { experiment_name: name } });
    const exp = got.json.experiment as { experiment_id?: string; lifecycle_stage?: string } | undefined;
    if (got.status !== 200 || !exp?.experiment_id) return undefined;
    return { id: exp.experiment_id, name, lifecycleStage: exp.lifecycle_stage ?? "active" };
  }

  /** Experiment id of a run, a logged model or a trace (undefined when the object does not exist). */
  async experimentOf(kind: "run" | "model" | "trace", id: string): Promise<string | undefined> {
    const cache = kind === "run" ? this.#runs : kind === "model" ? this.#models : this.#traces;
    const cached = cache.get(id);
    if (cached !== undefined) return cached;
    let found: string | undefined;
    if (kind === "run") {
      const got = await backingCall(this.backing, "GET", "/api/2.0/mlflow/runs/get", { query: { run_id: id } });
      found = (got.json.run as { info?: { experiment_id?: string } } | undefined)?.info?.experiment_id;
    } else if (kind === "model") {
      const got = await backingCall(this.backing, "GET", `/api/2.0/mlflow/logged-models/${encodeURIComponent(id)}`);
      found = (got.json.model as { info?: { experiment_id?: string } } | undefined)?.info?.experiment_id;
    } else {
      const got = await backingCall(this.backing, "GET", `/api/3.0/mlflow/traces/${encodeURIComponent(id)}`);
      const info = (got.json.trace as { trace_info?: { trace_location?: { mlflow_experiment?: { experiment_id?: string } } } } | undefined)
        ?.trace_info;
      found = info?.trace_location?.mlflow_experiment?.experiment_id;
    }
    if (found !== undefined) cache.set(id, found);
    return found;
  }

  /** The principal's level on an experiment. */
  levelOn(p: Principal, exp: ExperimentRef): PermissionLevel | undefined {
    return this.workspace.levelOn(p, exp.name, exp.id);
  }

  /** Resolves the experiment and checks the level; throws a WorkspaceRefusal otherwise. */
  async require(p: Principal, id: string, wanted: "CAN_READ" | "CAN_EDIT" | "CAN_MANAGE"): Promise<ExperimentRef> {
    const exp = await this.byId(id);
    if (!exp) throw new WorkspaceRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Node ID ${id} does not exist.`);
    if (!atLeast(this.levelOn(p, exp), wanted)) {
      throw new WorkspaceRefusal(
        403,
        "PERMISSION_DENIED",
        `${principalLabel(p)} does not have permission to '${ACTION[wanted]}' experiment with id ${id}`,
      );
    }
    return exp;
  }
}
