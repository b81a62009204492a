import { GatewayError } from "../errors.js";

/**
 * The MLflow assistant stays refused (mlflow/server/assistant/api.py trusts every caller
 * on the server's own machine, and every request the gateway forwards arrives from
 * loopback). Its two read-only set-up calls get the answer MLflow itself gives a remote
 * client of a server with no assistant provider configured (get_config / get_providers in
 * that file): no providers, remote access not allowed. MLflow's UI then hides the
 * assistant on every host that is not localhost (MainAssistantFab: `canUseAssistant` is
 * `isLocalServer || remote_access_allowed`), which is how Databricks Apps serves the app,
 * instead of opening a panel whose calls all fail. On localhost the UI still offers its
 * set-up, whose writes are refused with the reason.
 */
const SETUP_ANSWERS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ["/ajax-api/3.0/mlflow/assistant/config", { providers: {}, projects: {}, remote_access_allowed: false }],
  ["/ajax-api/3.0/mlflow/assistant/providers", { providers: [], resolved: null, gateway_vendor_options: {} }],
]);

export const ASSISTANT_REFUSAL =
  "The MLflow assistant is not available through this gateway: it trusts every caller on the server's own machine, which would include everyone behind the gateway.";

/** MLflow's own answer to a remote client for the assistant's set-up reads; undefined for every other call. */
export function assistantSetupAnswer(method: string, path: string): unknown {
  return method === "GET" ? SETUP_ANSWERS.get(path) : undefined;
}

export function assistantRefused(): GatewayError {
  return new GatewayError("ROUTE_FORBIDDEN", ASSISTANT_REFUSAL);
}
