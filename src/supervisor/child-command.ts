import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/config.js";
import { redactSecrets } from "../log/create-logger.js";

export interface ChildCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/** Loopback only: the child must never be reachable except through the gateway. */
export const CHILD_HOST = "127.0.0.1";
/**
 * uvicorn closes idle keep-alive connections after 5 s by default. The gateway's pool
 * keeps idle sockets for less than the child does (see proxy/create-proxy.ts), so a
 * pooled socket is never reused just as the child closes it (ECONNRESET on reuse).
 */
export const CHILD_KEEP_ALIVE_SECONDS = 75;

/** The repository's python/ folder (from src/supervisor or dist/supervisor). */
export const CHILD_PATCHES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../python");

/**
 * MLflow's SQLAlchemy store takes a second pooled connection inside a session that holds
 * one (LogBatch: the run's session, then one each for params, metrics and tags). With
 * SQLAlchemy's default pool (5 + 10 overflow) 15 concurrent LogBatch calls on one worker
 * each hold one connection and wait for another: nothing moves until the pool's 30 s
 * timeout fails them all. A worker runs at most 40 requests at once (the thread limit of
 * Starlette's WSGI bridge), so 5 + 80 connections let every one of them hold two.
 */
export const CHILD_SQLITE_POOL_MAX_OVERFLOW = 80;

/** The child's artifact destination in Databricks mode: a read-only repository python/sitecustomize.py registers. */
export const MODEL_VERSION_FILES_SCHEME = "gateway-uc-model-versions";

/** Retries of the child's own calls to the workspace (MLflow's default is 7). */
export const CHILD_HTTP_RETRIES = 3;
/** How long the child keeps retrying a throttled or failing workspace through the SDK. */
export const CHILD_DATABRICKS_RETRY_SECONDS = 20;

/**
 * Variables the gateway owns or that would change the child's security posture. They
 * are dropped from the inherited environment and set again deliberately below.
 */
const DROPPED_ENV = [
  /^GATEWAY_/,
  /^DATABRICKS_(HOST|TOKEN|CLIENT_ID|CLIENT_SECRET|AUTH_TYPE|CONFIG_PROFILE|CONFIG_FILE|USERNAME|PASSWORD)$/,
  /^MLFLOW_(TRACKING|REGISTRY)_(URI|TOKEN|USERNAME|PASSWORD)$/,
  /^MLFLOW_SERVER_(ALLOWED_HOSTS|CORS_ALLOWED_ORIGINS|DISABLE_SECURITY_MIDDLEWARE|X_FRAME_OPTIONS)$/,
  /^MLFLOW_(HOST|PORT|WORKERS|STATIC_PREFIX)$/,
];

/** Builds `mlflow server ...` for the configured mode, with exactly one credential kind. */
export function buildChildCommand(
  config: Config,
  executable: string,
  port: number,
  baseEnv: Readonly<Record<string, string | undefined>>,
): ChildCommand {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(baseEnv)) {
    if (value !== undefined && !DROPPED_ENV.some((pattern) => pattern.test(name))) env[name] = value;
  }
  // Line-buffered output, so child log lines reach the gateway's log as they happen.
  env["PYTHONUNBUFFERED"] = "1";
  // python/sitecustomize.py: the small fixes stock MLflow needs against Databricks.
  env["PYTHONPATH"] = [CHILD_PATCHES_DIR, baseEnv["PYTHONPATH"]].filter(Boolean).join(path.delimiter);

  const { mlflow } = config;
  const args = [
    "server",
    "--host",
    CHILD_HOST,
    "--port",
    String(port),
    "--workers",
    String(mlflow.workers),
    "--backend-store-uri",
    mlflow.backendStoreUri,
    "--registry-store-uri",
    mlflow.registryStoreUri,
    // The gateway rewrites Host to the child's own address; accept nothing else, so a
    // DNS-rebinding page cannot talk to the child directly.
    "--allowed-hosts",
    `${CHILD_HOST}:${port},localhost:${port}`,
    "--uvicorn-opts",
    `--timeout-keep-alive ${CHILD_KEEP_ALIVE_SECONDS}`,
  ];

  if (config.mode === "databricks" && config.databricks !== undefined) {
    // Artifacts live in the workspace. The gateway serves run and logged-model artifacts
    // itself (artifacts/artifact-service.ts); the child's proxied-artifact routes only read
    // Unity Catalog model versions' files, through python/sitecustomize.py's repository.
    args.push("--serve-artifacts", "--artifacts-destination", `${MODEL_VERSION_FILES_SCHEME}:/`);
    // Needed beside the flags: the UC registry store links versions to runs through it.
    env["MLFLOW_TRACKING_URI"] = "databricks";
    env["MLFLOW_REGISTRY_URI"] = mlflow.registryStoreUri;
    env["DATABRICKS_HOST"] = config.databricks.host;
    // MLflow retries a throttled or failing workspace 7 times with doubling backoff (minutes
    // in all), longer than any caller waits. Fewer, shorter retries let the caller see the
    // workspace's own error (429, 503) in time. An operator's explicit values win.
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] ??= String(CHILD_HTTP_RETRIES);
    env["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] ??= "1";
    env["MLFLOW_HTTP_REQUEST_TIMEOUT"] ??= "60";
    // Calls made through the Databricks SDK retry 429/5xx until this many seconds pass
    // (MLflow's default: 500), far past the 120 s the Apps front door waits.
    env["MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT"] ??= String(CHILD_DATABRICKS_RETRY_SECONDS);
    const { auth } = config.databricks;
    env["DATABRICKS_AUTH_TYPE"] = auth.kind;
    if (auth.kind === "oauth-m2m") {
      env["DATABRICKS_CLIENT_ID"] = auth.clientId;
      env["DATABRICKS_CLIENT_SECRET"] = auth.clientSecret.reveal();
    } else {
      env["DATABRICKS_TOKEN"] = auth.token.reveal();
    }
  } else if (mlflow.artifactsDestination !== undefined) {
    args.push("--serve-artifacts", "--artifacts-destination", mlflow.artifactsDestination);
  }
  // SQLite connections are file handles, so a pool that cannot deadlock costs nothing. A
  // database server limits its connections: there the operator sizes the pool (same
  // variable), which also wins here.
  if (mlflow.backendStoreUri.startsWith("sqlite:")) {
    env["MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW"] ??= String(CHILD_SQLITE_POOL_MAX_OVERFLOW);
  }

  return { file: executable, args, env };
}

/**
 * The command as it may be logged: arguments only, never the environment, and with the
 * password of a database URI (postgresql://user:pw@...) masked.
 */
export function describeChildCommand(command: ChildCommand): string {
  return redactSecrets([command.file, ...command.args].join(" "));
}
