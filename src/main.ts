/**
 * Entry point: validate configuration, start the HTTP server and the supervised
 * `mlflow server` child, and stop both cleanly on SIGTERM/SIGINT.
 */
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createAuditTrail } from "./audit/create-audit-trail.js";
import { ConfigError, loadConfig } from "./config/load-config.js";
import type { Config } from "./config/config.js";
import { BackendCheck } from "./databricks/backend-check.js";
import { WorkspaceClient } from "./databricks/workspace-client.js";
import { isGatewayError } from "./errors.js";
import { createApp } from "./http/create-app.js";
import { drain, listen } from "./http/serve.js";
import { createLogger, flushLogger, type Logger } from "./log/create-logger.js";
import { createIdentityResolver } from "./identity/resolve-identity.js";
import { TokenVerifier } from "./identity/token-verifier.js";
import { DEFAULT_KEYS_OPTIONS, WorkspaceKeys } from "./identity/workspace-keys.js";
import { createMetrics } from "./metrics/metrics.js";
import { Policy } from "./policy/policy.js";
import { createMlflowProxy } from "./proxy/create-proxy.js";
import { loadRouteTable } from "./routes/route-table.js";
import { buildChildCommand } from "./supervisor/child-command.js";
import { findMlflow } from "./supervisor/find-mlflow.js";
import { findFreePort } from "./supervisor/free-port.js";
import { Supervisor } from "./supervisor/supervisor.js";

/** Databricks Apps sends SIGKILL 15 s after SIGTERM; finish (or give up) before that. */
const SHUTDOWN_DEADLINE_MS = 14_500;
const LOG_FLUSH_TIMEOUT_MS = 500;
/** The audit flush stops this long before the deadline, leaving time to log and exit. */
const AUDIT_FLUSH_MARGIN_MS = 1_000;
/** Exit codes an operator (or a test) can tell apart. */
const EXIT_CONFIG_INVALID = 2;
const EXIT_STARTUP_FAILED = 3;

// src/main.ts and dist/main.js both sit one level below the repository root.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, { repoRoot });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      createLogger("error").error("configuration is invalid", { code: error.code, problems: error.problems });
      process.exitCode = EXIT_CONFIG_INVALID;
      return;
    }
    throw error;
  }

  const logger = createLogger(config.logLevel);
  try {
    await run(config, logger);
  } catch (error) {
    const message = isGatewayError(error) ? error.message : String(error);
    process.stderr.write(`${message}\n`);
    logger.error("gateway failed to start", { code: isGatewayError(error) ? error.code : "INTERNAL", error: message });
    await flushLogger(logger, LOG_FLUSH_TIMEOUT_MS);
    process.exit(EXIT_STARTUP_FAILED);
  }
}

async function run(config: Config, logger: Logger): Promise<void> {
  const executable = findMlflow({ explicit: config.mlflow.executable, repoRoot, pathEnv: process.env["PATH"] });
  if (config.dataDir !== undefined) {
    mkdirSync(path.join(config.dataDir, "artifacts"), { recursive: true });
  }
  const childPort = config.mlflow.port ?? (await findFreePort());
  const routes = loadRouteTable();
  const { identity: identityConfig } = config;
  const keys =
    identityConfig.workspaceHost === undefined ? undefined : new WorkspaceKeys({ host: identityConfig.workspaceHost, ...DEFAULT_KEYS_OPTIONS });
  const verifier = keys === undefined ? undefined : new TokenVerifier({ keys, requiredScopes: identityConfig.requiredScopes });
  const identity = createIdentityResolver(identityConfig.mode, verifier, identityConfig.localUser);
  const supervisor = new Supervisor({
    command: buildChildCommand(config, executable, childPort, process.env),
    port: childPort,
    startTimeoutMs: config.mlflow.startTimeoutMs,
    logger,
  });
  const metrics = createMetrics();
  supervisor.onStatusChange((status) => metrics.observeChild(status));
  if (keys !== undefined) metrics.trackKeyFetches(() => keys.stats);

  // Databricks mode: prove once that the credentials work, then keep an eye on it.
  const workspace = config.databricks === undefined ? undefined : new WorkspaceClient(config.databricks);
  const backend = workspace === undefined ? undefined : new BackendCheck(workspace, logger);
  const audit = createAuditTrail(config.audit, { workspace, logger });
  metrics.trackAudit(() => ({ ...audit.stats(), ok: audit.check().ok }));

  const proxy = createMlflowProxy({
    target: supervisor.baseUrl,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    logger,
    onServerError: () => backend?.suspect(),
  });

  let shuttingDown = false;
  const app = createApp({
    routes,
    identity,
    policy: new Policy(config.policy),
    audit,
    supervisor,
    proxy,
    metrics,
    logger,
    backend,
    unityCatalog: config.mlflow.registryStoreUri === "databricks-uc" ? workspace : undefined,
    isShuttingDown: () => shuttingDown,
    endpoints: {
      version: { gateway: readPackageVersion(), mlflow: routes.mlflowVersion, node: process.version, mode: config.mode },
      supervisor,
      metrics,
      checks: backend === undefined ? [audit] : [backend, audit],
      isShuttingDown: () => shuttingDown,
    },
  });

  const { server, port } = await listen(app, config.listen.host, config.listen.port);
  logger.info("gateway listening", {
    url: `http://${config.listen.host === "0.0.0.0" ? "localhost" : config.listen.host}:${port}`,
    mode: config.mode,
    identityMode: identityConfig.mode,
    mlflowVersion: routes.mlflowVersion,
    routes: routes.size,
    dataDir: config.dataDir,
    databricksHost: config.databricks?.host,
    databricksAuth: config.databricks?.auth.kind,
    auditSinks: config.audit.sinks,
    auditDir: config.audit.dir,
    auditVolume: config.audit.volumePath,
    auditStream: audit.stream,
  });
  supervisor.start();
  void backend?.start();

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info("shutting down", { signal, graceMs: config.shutdownGraceMs });
    const deadline = Date.now() + SHUTDOWN_DEADLINE_MS;
    // Never outlive the platform's SIGKILL with a half-done shutdown.
    setTimeout(() => {
      logger.error("shutdown took too long; exiting now");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    const drained = await drain(server, config.shutdownGraceMs);
    if (!drained) logger.warn("in-flight requests were cut at the end of the shutdown grace period");
    backend?.stop();
    proxy.agent.destroy();
    // Every call has ended, so every event is recorded: flush the audit sinks while the
    // child stops, leaving a margin before the deadline to log and exit.
    await Promise.all([supervisor.stop(), audit.close(deadline - AUDIT_FLUSH_MARGIN_MS)]);
    logger.info("gateway stopped", { drained, auditStats: audit.stats() });
    await flushLogger(logger, LOG_FLUSH_TIMEOUT_MS);
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => void shutdown(signal));
  }
}

function readPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

await main();
