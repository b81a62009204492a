import path from "node:path";
import { GatewayError } from "../errors.js";
import type { Config, DatabricksConfig, GatewayMode, LogLevel } from "./config.js";
import { normaliseHost, readDatabricks } from "./databricks-config.js";
import { readAudit } from "./audit-config.js";
import { readIdentity } from "./identity-config.js";
import { readPolicy } from "./policy-config.js";
import { type ConfigProblem, type Env, EnvReader, show } from "./env-reader.js";
import { LOG_FORMAT_SETTINGS } from "../log/log-format.js";

export type { ConfigProblem } from "./env-reader.js";

export class ConfigError extends GatewayError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super("CONFIG_INVALID", formatProblems(problems));
    this.problems = problems;
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  const noun = problems.length === 1 ? "problem" : "problems";
  const lines = problems.map((p) => `  - ${p.variable}: ${p.message} Fix: ${p.fix}`);
  return [`Configuration is invalid (${problems.length} ${noun}):`, ...lines].join("\n");
}

export const DEFAULT_PORT = 8000;
/** Databricks Apps reaches the app from outside its container; a local run stays on this machine. */
export const DEFAULT_LISTEN_HOST = { databricks: "0.0.0.0", local: "127.0.0.1" } as const;
export const DEFAULT_WORKERS = 2;
export const MAX_WORKERS = 32;
export const DEFAULT_CHILD_START_TIMEOUT_MS = 120_000;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 120_000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** Open connections before new ones are answered 503 (far above a team's browsers and clients). */
export const DEFAULT_MAX_CONNECTIONS = 1_000;
/** Calls one person has in flight before the next is answered 503 (a parallel upload uses ~8-20). */
export const DEFAULT_MAX_REQUESTS_PER_CLIENT = 64;
/** Bodies of MLflow API calls other than file uploads (LogBatch is well under 1 MB). */
export const DEFAULT_MAX_API_BODY_MB = 32;
/** Databricks Apps sends SIGKILL 15 s after SIGTERM; draining must leave room to stop the child. */
export const MAX_SHUTDOWN_GRACE_MS = 11_000;
const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];
/** Backend store schemes the child accepts for a self-hosted (local mode) store. */
const DATABASE_URI = /^(sqlite|postgresql|mysql|mssql)(\+[a-z0-9_]+)?:\/\//i;

export interface ConfigDefaults {
  /** Folder that holds the local data directory by default (the repository root). */
  repoRoot: string;
}

/**
 * Reads and validates the whole environment, collecting every problem before failing,
 * so an operator fixes a broken deployment in one round instead of one per restart.
 */
export function loadConfig(env: Env, defaults: ConfigDefaults): Config {
  const problems: ConfigProblem[] = [];
  const reader = new EnvReader(env, problems);

  const portVar = env["DATABRICKS_APP_PORT"] !== undefined ? "DATABRICKS_APP_PORT" : "PORT";
  const port = reader.integer(portVar, DEFAULT_PORT, { min: 0, max: 65_535, what: "a TCP port number (0-65535)" });
  const trackingUri = reader.string("MLFLOW_TRACKING_URI");
  const mode = decideMode(trackingUri, problems);
  const listenHost = reader.string("GATEWAY_LISTEN_HOST") ?? DEFAULT_LISTEN_HOST[mode];
  const registryUriRaw = reader.string("MLFLOW_REGISTRY_URI");

  const childPort = reader.integer("GATEWAY_MLFLOW_PORT", undefined, { min: 1, max: 65_535, what: "a TCP port number (1-65535)" });
  if (childPort !== undefined && childPort === port) {
    problems.push({
      variable: "GATEWAY_MLFLOW_PORT",
      message: `${childPort} is also the gateway's public port.`,
      fix: "choose another internal port, or unset it to pick a free one.",
    });
  }
  const workers = reader.integer("GATEWAY_MLFLOW_WORKERS", DEFAULT_WORKERS, { min: 1, max: MAX_WORKERS, what: `a worker count (1-${MAX_WORKERS})` });
  const startTimeoutMs = reader.integer("GATEWAY_MLFLOW_START_TIMEOUT_MS", DEFAULT_CHILD_START_TIMEOUT_MS, {
    min: 1_000,
    max: 600_000,
    what: "milliseconds (1000-600000)",
  });
  const upstreamTimeoutMs = reader.integer("GATEWAY_UPSTREAM_TIMEOUT_MS", DEFAULT_UPSTREAM_TIMEOUT_MS, {
    min: 100,
    max: 3_600_000,
    what: "milliseconds (100-3600000)",
  });
  const shutdownGraceMs = reader.integer("GATEWAY_SHUTDOWN_GRACE_MS", DEFAULT_SHUTDOWN_GRACE_MS, {
    min: 0,
    max: MAX_SHUTDOWN_GRACE_MS,
    what: `milliseconds (0-${MAX_SHUTDOWN_GRACE_MS}, to stay inside the 15 s Databricks Apps allows after SIGTERM)`,
  });
  const maxConnections = reader.integer("GATEWAY_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, {
    min: 10,
    max: 100_000,
    what: "a connection count (10-100000)",
  });
  const maxRequestsPerClient = reader.integer("GATEWAY_MAX_REQUESTS_PER_CLIENT", DEFAULT_MAX_REQUESTS_PER_CLIENT, {
    min: 1,
    max: 10_000,
    what: "a count of calls in flight (1-10000)",
  });
  const maxApiBodyMb = reader.integer("GATEWAY_MAX_API_BODY_MB", DEFAULT_MAX_API_BODY_MB, { min: 1, max: 1_024, what: "megabytes (1-1024)" });
  const logLevel = reader.oneOf("GATEWAY_LOG_LEVEL", LOG_LEVELS, "info");
  const logFormat = reader.oneOf("GATEWAY_LOG_FORMAT", LOG_FORMAT_SETTINGS, "auto");
  const executable = reader.string("GATEWAY_MLFLOW_BIN");

  let databricks: DatabricksConfig | undefined;
  let dataDir: string | undefined;
  let backendStoreUri = "";
  let registryStoreUri = "";
  let artifactsDestination: string | undefined;

  if (mode === "databricks") {
    databricks = readDatabricks(reader, problems);
    backendStoreUri = "databricks";
    registryStoreUri = registryUriRaw ?? "databricks-uc";
    if (registryStoreUri !== "databricks-uc" && registryStoreUri !== "databricks") {
      problems.push({
        variable: "MLFLOW_REGISTRY_URI",
        message: `${show(registryStoreUri)} is not a Databricks model registry.`,
        fix: "use databricks-uc (Unity Catalog, the default) or databricks (workspace registry).",
      });
    }
    if (env["GATEWAY_DATA_DIR"] !== undefined) {
      problems.push({
        variable: "GATEWAY_DATA_DIR",
        message: "is only used in local mode; in Databricks mode runs, models and artifacts live in the workspace.",
        fix: "unset GATEWAY_DATA_DIR, or unset MLFLOW_TRACKING_URI to run locally.",
      });
    }
  } else {
    dataDir = path.resolve(reader.string("GATEWAY_DATA_DIR") ?? path.join(defaults.repoRoot, ".data"));
    backendStoreUri = trackingUri ?? `sqlite:///${path.join(dataDir, "mlflow.db")}`;
    registryStoreUri = registryUriRaw ?? backendStoreUri;
    if (registryUriRaw !== undefined && !DATABASE_URI.test(registryUriRaw)) {
      problems.push({
        variable: "MLFLOW_REGISTRY_URI",
        message: `${show(registryUriRaw)} is not a database URI the local registry can use.`,
        fix: "unset it (the registry then shares the tracking store) or give a sqlite://, postgresql://, mysql:// or mssql:// URI.",
      });
    }
    artifactsDestination = path.join(dataDir, "artifacts");
    for (const name of ["DATABRICKS_CLIENT_SECRET", "DATABRICKS_TOKEN"]) {
      if (env[name]) {
        problems.push({
          variable: name,
          message: "is set but MLFLOW_TRACKING_URI is not 'databricks', so the gateway would silently run on local storage.",
          fix: "set MLFLOW_TRACKING_URI=databricks (and MLFLOW_REGISTRY_URI=databricks-uc) or unset the credential.",
        });
      }
    }
  }

  // Tokens are verified against the workspace's keys in every mode but `local`.
  const rawHost = reader.string("DATABRICKS_HOST");
  const identity = readIdentity(reader, problems, {
    databricksMode: mode === "databricks",
    databricksHost: databricks?.host ?? (rawHost === undefined ? undefined : normaliseHost(rawHost)),
    listenHost,
  });
  const policy = readPolicy(reader, { localUser: identity.mode === "local" ? identity.localUser : undefined, problems });
  const audit = readAudit(reader, problems, { databricksMode: mode === "databricks", dataDir, repoRoot: defaults.repoRoot });

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    mode,
    listen: { host: listenHost, port: port ?? DEFAULT_PORT, portVariable: portVar },
    mlflow: {
      executable,
      port: childPort,
      workers: workers ?? DEFAULT_WORKERS,
      backendStoreUri,
      registryStoreUri,
      artifactsDestination,
      startTimeoutMs: startTimeoutMs ?? DEFAULT_CHILD_START_TIMEOUT_MS,
    },
    databricks,
    identity,
    policy,
    audit,
    dataDir,
    upstreamTimeoutMs: upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
    shutdownGraceMs: shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    limits: {
      maxConnections: maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      maxRequestsPerClient: maxRequestsPerClient ?? DEFAULT_MAX_REQUESTS_PER_CLIENT,
      maxApiBodyBytes: (maxApiBodyMb ?? DEFAULT_MAX_API_BODY_MB) * 1024 * 1024,
    },
    logLevel,
    logFormat,
  };
}

function decideMode(trackingUri: string | undefined, problems: ConfigProblem[]): GatewayMode {
  if (trackingUri === undefined) return "local";
  if (trackingUri === "databricks") return "databricks";
  if (trackingUri.startsWith("databricks")) {
    problems.push({
      variable: "MLFLOW_TRACKING_URI",
      message: `${show(trackingUri)}: Databricks CLI profiles are not available to a Databricks App.`,
      fix: "use exactly 'databricks' and give the workspace with DATABRICKS_HOST and credentials.",
    });
    return "databricks";
  }
  if (!DATABASE_URI.test(trackingUri)) {
    problems.push({
      variable: "MLFLOW_TRACKING_URI",
      message: `${show(trackingUri)} is neither 'databricks' nor a database URI the gateway's MLflow server can store runs in.`,
      fix: "unset it for the embedded SQLite default, set 'databricks', or give a sqlite://, postgresql://, mysql:// or mssql:// URI.",
    });
  }
  return "local";
}
