import type { Server } from "node:http";
import type { AuditTrail } from "../../src/audit/audit-trail.js";
import type { Config } from "../../src/config/config.js";
import { BodyWatch } from "../../src/http/body-watch.js";
import { Capacity } from "../../src/http/capacity.js";
import type { AppDependencies } from "../../src/http/create-app.js";
import { createIdentityResolver } from "../../src/identity/resolve-identity.js";
import type { GatewayMetrics } from "../../src/metrics/metrics.js";
import { createPolicyLayer } from "../../src/policy/create-policy-layer.js";
import { createMlflowProxy } from "../../src/proxy/create-proxy.js";
import { loadRouteTable } from "../../src/routes/route-table.js";
import type { Supervisor } from "../../src/supervisor/supervisor.js";
import type { Logger } from "winston";

/**
 * What createApp needs for the whole pipeline in-process in local mode, with every real stage
 * (local identity, policy, route table) in front of a child the test never starts, so MLflow
 * calls are answered by the gateway itself. The parts a test looks at (its audit trail, access
 * log, metrics, logger) are its own.
 */
export function localPipelineDependencies(parts: {
  config: Config;
  logger: Logger;
  supervisor: Supervisor;
  metrics: GatewayMetrics;
  audit: AuditTrail;
  accessLog: AppDependencies["accessLog"];
}): AppDependencies {
  const { config, logger, supervisor, metrics, audit, accessLog } = parts;
  const routes = loadRouteTable();
  const layer = createPolicyLayer(config.policy, { workspace: undefined, experimentRoot: undefined, childUrl: () => supervisor.baseUrl, logger });
  return {
    routes,
    identity: createIdentityResolver("local", undefined, config.identity.localUser),
    authorizer: layer.authorizer,
    lookup: layer.lookup,
    audit,
    supervisor,
    proxy: createMlflowProxy({ target: supervisor.baseUrl, upstreamTimeoutMs: 1_000, logger }),
    metrics,
    logger,
    accessLog,
    backend: undefined,
    experimentNames: { workspace: undefined, root: undefined, logger },
    artifacts: { service: undefined },
    isShuttingDown: () => false,
    capacity: new Capacity(config.limits),
    bodyWatch: new BodyWatch(),
    maxApiBodyBytes: config.limits.maxApiBodyBytes,
    endpoints: {
      version: { gateway: "test", mlflow: routes.mlflowVersion, node: process.version, mode: "local" },
      supervisor,
      metrics,
      checks: [audit],
      isShuttingDown: () => false,
    },
  };
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
