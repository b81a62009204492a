import type { AuditConfig } from "./audit-config.js";
import type { IdentityConfig } from "./identity-config.js";
import type { PolicyConfig } from "./policy-config.js";
import type { Secret } from "./secret.js";
import type { LogFormatSetting } from "../log/log-format.js";

export type GatewayMode = "local" | "databricks";
/** The variable a port came from. */
export type PortVariable = "PORT" | "DATABRICKS_APP_PORT";
export type LogLevel = "error" | "warn" | "info" | "debug";

/** Exactly one credential kind reaches the child: the Databricks SDK refuses two. */
export type DatabricksAuth = { kind: "oauth-m2m"; clientId: string; clientSecret: Secret } | { kind: "pat"; token: Secret };

export interface DatabricksConfig {
  /** Normalised origin, e.g. https://adb-123.azuredatabricks.net (no trailing slash). */
  host: string;
  auth: DatabricksAuth;
  /** Workspace folder that holds experiments created with a plain name (GATEWAY_EXPERIMENT_ROOT). */
  experimentRoot: string;
}

export interface MlflowChildConfig {
  /** Explicit executable from GATEWAY_MLFLOW_BIN; otherwise it is looked up. */
  executable: string | undefined;
  /** Internal loopback port; undefined picks a free one at start. */
  port: number | undefined;
  workers: number;
  backendStoreUri: string;
  registryStoreUri: string;
  /** Local mode only: the child serves artifacts from this folder. */
  artifactsDestination: string | undefined;
  startTimeoutMs: number;
}

export interface Config {
  mode: GatewayMode;
  /** portVariable: which variable set the port, so a "port in use" message names the one to change. */
  listen: { host: string; port: number; portVariable: PortVariable };
  mlflow: MlflowChildConfig;
  databricks: DatabricksConfig | undefined;
  identity: IdentityConfig;
  policy: PolicyConfig;
  audit: AuditConfig;
  /** Local mode: where SQLite and artifacts live. */
  dataDir: string | undefined;
  upstreamTimeoutMs: number;
  shutdownGraceMs: number;
  /** What hostile or runaway clients may make the gateway hold (http/limits-stage.ts). */
  limits: LimitsConfig;
  logLevel: LogLevel;
  /** JSON lines, readable lines, or "auto" (readable at a terminal, not on Databricks Apps): log/log-format.ts. */
  logFormat: LogFormatSetting;
}

export interface LimitsConfig {
  maxConnections: number;
  maxRequestsPerClient: number;
  maxApiBodyBytes: number;
}
