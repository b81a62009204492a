/**
 * The HTTP side of the gateway: everything that answers requests, built once the child
 * `mlflow server` is already starting (main.ts loads this module only then, because
 * loading it takes a few hundred milliseconds that the child's start can overlap).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createAuditTrail } from "./audit/create-audit-trail.js";
import type { Config } from "./config/config.js";
import { AuditVolumeCheck } from "./databricks/audit-volume-check.js";
import { BackendCheck } from "./databricks/backend-check.js";
import { WorkspaceClient } from "./databricks/workspace-client.js";
import { ArtifactOwners } from "./artifacts/artifact-owners.js";
import { ArtifactService, UPLOAD_PART_ROUTE } from "./artifacts/artifact-service.js";
import { MultipartUploads } from "./artifacts/multipart-uploads.js";
import { FilesClient } from "./databricks/files-client.js";
import { TraceDataClient } from "./databricks/trace-data-client.js";
import { createApp } from "./http/create-app.js";
import { BodyWatch } from "./http/body-watch.js";
import { Capacity } from "./http/capacity.js";
import { drain, listen } from "./http/serve.js";
import { createAccessLog } from "./log/access-log.js";
import type { LogFormat } from "./log/log-format.js";
import { describeReady, type ReadyLine } from "./log/ready-line.js";
import type { Logger } from "./log/create-logger.js";
import { createIdentityResolver } from "./identity/resolve-identity.js";
import { TokenVerifier } from "./identity/token-verifier.js";
import { DEFAULT_KEYS_OPTIONS, WorkspaceKeys } from "./identity/workspace-keys.js";
import { createMetrics } from "./metrics/metrics.js";
import { createPolicyLayer } from "./policy/create-policy-layer.js";
import { createMlflowProxy } from "./proxy/create-proxy.js";
import { loadRouteTable } from "./routes/route-table.js";
import type { Supervisor } from "./supervisor/supervisor.js";

/** How often multipart uploads nobody finished are looked for (and aborted in the workspace). */
const UPLOAD_SWEEP_INTERVAL_MS = 60 * 60_000;

/** The audit flush stops this long before the deadline, leaving time to log and exit. */
const AUDIT_FLUSH_MARGIN_MS = 1_000;

export interface GatewayStartOptions {
  config: Config;
  logger: Logger;
  /** Already started: its child is booting while this module builds the rest. */
  supervisor: Supervisor;
  repoRoot: string;
  /** The log's resolved format: the ready line and the access log follow it. */
  logFormat: LogFormat;
}

export interface RunningGateway {
  /** Drains requests, stops the child and flushes the audit sinks, all before `deadline` (epoch ms). */
  stop(deadline: number): Promise<void>;
}

export async function startGateway({ config, logger, supervisor, repoRoot, logFormat }: GatewayStartOptions): Promise<RunningGateway> {
  const routes = loadRouteTable(config.databricks === undefined ? [] : [UPLOAD_PART_ROUTE]);
  const { identity: identityConfig } = config;
  const keys =
    identityConfig.workspaceHost === undefined ? undefined : new WorkspaceKeys({ host: identityConfig.workspaceHost, ...DEFAULT_KEYS_OPTIONS });
  const verifier = keys === undefined ? undefined : new TokenVerifier({ keys, requiredScopes: identityConfig.requiredScopes });
  const identity = createIdentityResolver(identityConfig.mode, verifier, identityConfig.localUser);
  const metrics = createMetrics();
  metrics.observeChild(supervisor.status());
  supervisor.onStatusChange((status) => metrics.observeChild(status));
  if (keys !== undefined) metrics.trackKeyFetches(() => keys.stats);

  // Databricks mode: prove once that the credentials work, then keep an eye on it.
  const workspace = config.databricks === undefined ? undefined : new WorkspaceClient(config.databricks);
  const backend = workspace === undefined ? undefined : new BackendCheck(workspace, logger);
  const audit = createAuditTrail(config.audit, { workspace, logger });
  // The durable audit sink's volume must exist and be writable, not only reachable.
  const volumeCheck =
    workspace === undefined || config.audit.volumePath === undefined ? undefined : new AuditVolumeCheck(workspace, config.audit.volumePath, logger);
  metrics.trackAudit(() => ({ ...audit.stats(), ok: audit.check().ok }));

  // Databricks mode: run, logged-model artifacts and trace data move through the app (artifacts/).
  const artifactService =
    workspace === undefined
      ? undefined
      : new ArtifactService({
          files: new FilesClient(workspace),
          traces: new TraceDataClient(workspace),
          owners: new ArtifactOwners(workspace),
          uploads: new MultipartUploads(),
          logger,
        });
  const uploadSweep = artifactService === undefined ? undefined : setInterval(() => void artifactService.sweep(), UPLOAD_SWEEP_INTERVAL_MS).unref();

  const proxy = createMlflowProxy({
    target: supervisor.baseUrl,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    logger,
    onServerError: () => backend?.suspect(),
  });

  // The policy (policy/): reloaded when its file changes; groups from SCIM in Databricks mode.
  const policy = createPolicyLayer(config.policy, {
    workspace,
    experimentRoot: config.databricks?.experimentRoot,
    childUrl: () => supervisor.baseUrl,
    logger,
  });
  policy.store.start();

  const accessLog = createAccessLog(config.logLevel, logFormat, logger);
  const capacity = new Capacity(config.limits);
  const bodyWatch = new BodyWatch();
  let shuttingDown = false;
  const app = createApp({
    routes,
    identity,
    authorizer: policy.authorizer,
    lookup: policy.lookup,
    audit,
    supervisor,
    proxy,
    metrics,
    logger,
    accessLog,
    backend,
    experimentNames: { workspace, root: config.databricks?.experimentRoot, logger },
    artifacts: { service: artifactService },
    isShuttingDown: () => shuttingDown,
    capacity,
    bodyWatch,
    maxApiBodyBytes: config.limits.maxApiBodyBytes,
    endpoints: {
      version: { gateway: readPackageVersion(repoRoot), mlflow: routes.mlflowVersion, node: process.version, mode: config.mode },
      supervisor,
      metrics,
      checks: [backend, audit, volumeCheck, policy.store].filter((check) => check !== undefined),
      isShuttingDown: () => shuttingDown,
    },
  });

  const { server, port } = await listen(app, config.listen.host, config.listen.port, { capacity, portVariable: config.listen.portVariable });
  const url = `http://${config.listen.host === "0.0.0.0" ? "localhost" : config.listen.host}:${port}`;
  logger.info("gateway listening", {
    url,
    waitingForMlflow: !supervisor.isReady(),
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
  void backend?.start();
  void volumeCheck?.start();
  // A browser on this machine reaches a loopback or wildcard listener at localhost, the address the README gives.
  const openUrl = url.replace("//127.0.0.1:", "//localhost:");
  const ready = describeReady(config, { url: openUrl, mlflowVersion: routes.mlflowVersion, format: logFormat, cwd: process.cwd() });
  void announceWhenReady(supervisor, logger, ready, () => shuttingDown);

  return {
    async stop(deadline) {
      shuttingDown = true;
      const drained = await drain(server, config.shutdownGraceMs);
      if (!drained) logger.warn("in-flight requests were cut at the end of the shutdown grace period");
      backend?.stop();
      volumeCheck?.stop();
      policy.store.stop();
      bodyWatch.stop();
      clearInterval(uploadSweep);
      proxy.agent.destroy();
      // Every call has ended, so every event is recorded: flush the audit sinks while the
      // child stops, leaving a margin before the deadline to log and exit.
      await Promise.all([supervisor.stop(), audit.close(deadline - AUDIT_FLUSH_MARGIN_MS)]);
      accessLog.flush();
      logger.info("gateway stopped", { drained, auditStats: audit.stats() });
    },
  };
}

/** While the child starts (10-20 s on a laptop), a line this often says it is still coming. */
const STARTING_PROGRESS_MS = 5_000;

/**
 * The ready line, once: when the child first answers (the gateway already listens). Until
 * then a progress line every few seconds, so a first start never looks hung.
 */
async function announceWhenReady(supervisor: Supervisor, logger: Logger, ready: ReadyLine, isShuttingDown: () => boolean): Promise<void> {
  const started = Date.now();
  while (!isShuttingDown()) {
    if (await supervisor.waitUntilReady(STARTING_PROGRESS_MS)) {
      if (!isShuttingDown()) logger.info(ready.message, ready.fields);
      return;
    }
    if (!isShuttingDown()) logger.info(`mlflow server is still starting (${Math.round((Date.now() - started) / 1000)} s)`);
  }
}

function readPackageVersion(repoRoot: string): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}
