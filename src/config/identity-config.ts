import type { IdentityMode } from "../identity/resolve-identity.js";
import type { ConfigProblem, EnvReader } from "./env-reader.js";

export interface IdentityConfig {
  mode: IdentityMode;
  /** Scopes every verified token must carry. */
  requiredScopes: string[];
  /** The fixed developer identity of `local` mode. */
  localUser: string;
  /** Workspace whose published keys sign the tokens (every mode but `local`). */
  workspaceHost: string | undefined;
}

const MODES: readonly IdentityMode[] = ["headers", "token", "local"];
export const DEFAULT_LOCAL_USER = "local-developer";

/**
 * Safe defaults: Databricks mode trusts nothing but the front door (`headers`, tokens
 * verified when present); local mode uses one developer identity and is refused on any
 * listener other than loopback, where nobody else can reach it.
 */
export function readIdentity(
  reader: EnvReader,
  problems: ConfigProblem[],
  context: { databricksMode: boolean; databricksHost: string | undefined; listenHost: string },
): IdentityConfig {
  const mode = reader.oneOf("GATEWAY_IDENTITY_MODE", MODES, context.databricksMode ? "headers" : "local");
  const requiredScopes = (reader.string("GATEWAY_REQUIRED_SCOPES") ?? "").split(/[\s,]+/).filter(Boolean);
  const localUser = reader.string("GATEWAY_LOCAL_USER") ?? DEFAULT_LOCAL_USER;
  // A container must listen on 0.0.0.0 even when its port is published on the host's
  // loopback only; that exception has to be spelled out, never assumed.
  const allowOnNetwork = reader.oneOf("GATEWAY_ALLOW_LOCAL_IDENTITY_ON_NETWORK", ["true", "false"], "false") === "true";
  if (mode === "local" && !isLoopback(context.listenHost) && !allowOnNetwork) {
    problems.push({
      variable: "GATEWAY_IDENTITY_MODE",
      message: `is 'local' (everyone is ${localUser}) but the gateway listens on ${context.listenHost}, where others can reach it.`,
      fix: "listen on loopback (GATEWAY_LISTEN_HOST=127.0.0.1), use 'headers' or 'token' behind the Databricks Apps front door, or (in a container published on the host's loopback only) set GATEWAY_ALLOW_LOCAL_IDENTITY_ON_NETWORK=true.",
    });
  }
  // In Databricks mode a missing host is reported already, with the credentials.
  if (mode !== "local" && context.databricksHost === undefined && !context.databricksMode) {
    problems.push({
      variable: "DATABRICKS_HOST",
      message: `is needed by identity mode '${mode}': tokens are verified against that workspace's published keys.`,
      fix: "set DATABRICKS_HOST to the workspace URL, or use GATEWAY_IDENTITY_MODE=local on a loopback listener.",
    });
  }
  return { mode, requiredScopes, localUser, workspaceHost: mode === "local" ? undefined : context.databricksHost };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
