import { GatewayError } from "../errors.js";
import { readDatabricksError, WorkspaceError, type WorkspaceClient } from "./workspace-client.js";
import { parentFolder } from "./experiment-names.js";

/**
 * Makes sure the folder of a new experiment exists, creating it (and any missing parents)
 * as the app's service principal with the Workspace API's mkdirs, which succeeds without
 * change when the folder is there (docs: api/workspace/workspace/mkdirs). Called for every
 * experiment the gateway files under its root, so a folder deleted by hand comes back.
 * A refusal becomes an MLflow-shaped error that names the folder and what is missing.
 */
export async function ensureExperimentFolder(client: WorkspaceClient, folder: string): Promise<void> {
  let response: Response;
  try {
    response = await client.request("/api/2.0/workspace/mkdirs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: folder }),
    });
  } catch (error) {
    if (error instanceof WorkspaceError && error.failure === "forbidden") {
      throw new GatewayError(
        "BACKEND_FORBIDDEN",
        `The app's service principal may not create the experiment folder ${folder}: Databricks requires CAN_MANAGE on ${parentFolder(folder)} (${error.message}). Ask a workspace admin to create ${folder} and grant the app's service principal CAN_MANAGE on it, or set GATEWAY_EXPERIMENT_ROOT to a folder it manages.`,
        { cause: error },
      );
    }
    throw new GatewayError(
      "BACKEND_UNAVAILABLE",
      `Could not create the experiment folder ${folder} in Databricks: ${error instanceof Error ? error.message : String(error)}.`,
      {
        cause: error,
        retryAfterSeconds: 5,
      },
    );
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  const { code = "UNKNOWN", message = "" } = await readDatabricksError(response);
  throw new GatewayError(
    "PARAMETER_REJECTED",
    `Databricks refused to create the experiment folder ${folder} (${response.status} ${code}: ${message}). Choose another experiment name, or set GATEWAY_EXPERIMENT_ROOT to a usable folder.`,
  );
}
