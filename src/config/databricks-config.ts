import type { DatabricksAuth, DatabricksConfig } from "./config.js";
import { type ConfigProblem, type EnvReader, show } from "./env-reader.js";
import { Secret } from "./secret.js";
import { experimentRootProblem } from "../databricks/experiment-names.js";

/**
 * Where experiments created with a plain name go: /Shared/<app name>. /Shared is the one
 * folder every workspace has in which all users (the app's service principal included)
 * may create folders without a grant, and the app's name keeps two apps apart and makes
 * the folder easy to find in the workspace browser. docs/databricks.md, "Experiments in Databricks".
 */
export function defaultExperimentRoot(appName: string | undefined): string {
  return `/Shared/${appName ?? "mlflow"}`;
}

/** Reads the workspace and exactly one credential kind; secrets are wrapped at once. */
export function readDatabricks(reader: EnvReader, problems: ConfigProblem[]): DatabricksConfig | undefined {
  const rawHost = reader.string("DATABRICKS_HOST");
  let host: string | undefined;
  if (rawHost === undefined) {
    problems.push({
      variable: "DATABRICKS_HOST",
      message: "is not set; Databricks mode (MLFLOW_TRACKING_URI=databricks) needs the workspace URL.",
      fix: "set DATABRICKS_HOST=https://<your-workspace>.cloud.databricks.com (Databricks Apps injects it).",
    });
  } else {
    host = normaliseHost(rawHost);
    if (host === undefined) {
      problems.push({
        variable: "DATABRICKS_HOST",
        message: `${show(rawHost)} is not a workspace URL.`,
        fix: "give the workspace origin only, e.g. https://adb-1234567890123456.7.azuredatabricks.net.",
      });
    }
  }

  const clientId = reader.string("DATABRICKS_CLIENT_ID");
  const clientSecret = reader.string("DATABRICKS_CLIENT_SECRET");
  const token = reader.string("DATABRICKS_TOKEN");
  const authType = reader.string("DATABRICKS_AUTH_TYPE");
  const hasOauth = clientId !== undefined || clientSecret !== undefined;
  let auth: DatabricksAuth | undefined;

  const wantOauth = authType === "oauth-m2m" || (authType === undefined && hasOauth && token === undefined);
  const wantPat = authType === "pat" || (authType === undefined && token !== undefined && !hasOauth);
  if (authType !== undefined && authType !== "oauth-m2m" && authType !== "pat") {
    problems.push({
      variable: "DATABRICKS_AUTH_TYPE",
      message: `${show(authType)} is not supported by the gateway.`,
      fix: "use oauth-m2m (client id and secret, the Databricks Apps default) or pat (DATABRICKS_TOKEN).",
    });
  } else if (authType === undefined && hasOauth && token !== undefined) {
    problems.push({
      variable: "DATABRICKS_TOKEN",
      message: "is set together with DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET; the gateway passes the child exactly one credential.",
      fix: "set DATABRICKS_AUTH_TYPE=oauth-m2m or DATABRICKS_AUTH_TYPE=pat to choose, or unset one of them.",
    });
  } else if (wantOauth) {
    if (clientId === undefined || clientSecret === undefined) {
      const missing = clientId === undefined ? "DATABRICKS_CLIENT_ID" : "DATABRICKS_CLIENT_SECRET";
      problems.push({
        variable: missing,
        message: "is not set; OAuth machine-to-machine authentication needs both the client id and the client secret.",
        fix: `set ${missing} (Databricks Apps injects the app's service principal credentials).`,
      });
    } else {
      auth = { kind: "oauth-m2m", clientId, clientSecret: new Secret(clientSecret) };
    }
  } else if (wantPat) {
    if (token === undefined) {
      problems.push({
        variable: "DATABRICKS_TOKEN",
        message: "is not set but DATABRICKS_AUTH_TYPE=pat asks for it.",
        fix: "map a secret holding a token to DATABRICKS_TOKEN with valueFrom in app.yaml, or use oauth-m2m.",
      });
    } else {
      auth = { kind: "pat", token: new Secret(token) };
    }
  } else {
    problems.push({
      variable: "DATABRICKS_CLIENT_ID",
      message: "no Databricks credentials are set; Databricks mode needs the service principal's credentials.",
      fix: "set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (injected by Databricks Apps) or DATABRICKS_TOKEN.",
    });
  }

  const appName = reader.string("DATABRICKS_APP_NAME");
  const experimentRoot = (
    reader.string("GATEWAY_EXPERIMENT_ROOT") ?? defaultExperimentRoot(appName && /^[a-z0-9-]+$/i.test(appName) ? appName : undefined)
  ).replace(/\/+$/, "");
  const rootProblem = experimentRootProblem(experimentRoot);
  if (rootProblem !== undefined) {
    problems.push({
      variable: "GATEWAY_EXPERIMENT_ROOT",
      message: `${show(experimentRoot)} ${rootProblem}.`,
      fix: "give a workspace folder such as /Shared/mlflow or /Shared/team-a/mlflow, or unset it for /Shared/<app name>.",
    });
  }

  return host !== undefined && auth !== undefined && rootProblem === undefined ? { host, auth, experimentRoot } : undefined;
}

/** `adb-1.azuredatabricks.net` -> `https://adb-1.azuredatabricks.net`; an explicit http:// is kept (emulators). */
export function normaliseHost(raw: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  const onlyOrigin = (url.pathname === "/" || url.pathname === "") && !url.search && !url.hash;
  if ((url.protocol !== "https:" && url.protocol !== "http:") || !onlyOrigin || url.username || url.password) {
    return undefined;
  }
  return url.origin;
}
