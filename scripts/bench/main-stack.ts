/**
 * The stack workloads 1, 2 and 4 run against: the gateway with its `mlflow server` child on
 * a fixed port, nginx in front of that same child, and the data the workloads read and
 * write. Also keeps a copy of the freshly initialised database for the cold starts.
 */
import { copyFileSync } from "node:fs";
import path from "node:path";
import type { BenchContext } from "./bench-context.js";
import { findFreePort } from "../../src/supervisor/free-port.js";
import { createFixtures, type Fixtures } from "./mlflow-fixtures.js";
import { processTree } from "./proc-stats.js";
import { PATHS, type Target } from "./results.js";
import { type GatewayHandle, startGateway } from "./start-gateway.js";
import { DATABASE_FILE } from "./start-mlflow.js";
import { startNginx } from "./start-nginx.js";
import { WRITE_CONCURRENCY } from "./workloads/small-calls.js";

export interface MainStack {
  gateway: GatewayHandle;
  targets: Target[];
  /** The child `mlflow server`'s port (direct), for reference proxies in front of it. */
  childPort: number;
  fixtures: Fixtures;
  /** The child's artifact folder (the gateway's data dir in local mode). */
  artifactsRoot: string;
  /** An initialised (migrated) database, copied before any fixture existed. */
  templateDb: string;
  stop(): Promise<void>;
}

export async function startMainStack(ctx: BenchContext, keyServerHost: string): Promise<MainStack> {
  ctx.progress("starting the gateway (token identity, audit file sink) and its mlflow server child");
  const childPort = await findFreePort();
  const dataDir = path.join(ctx.workDir, "gateway-data");
  const gateway = await startGateway(ctx.registry, {
    name: "gateway",
    port: await findFreePort(),
    childPort,
    dataDir,
    logFile: path.join(ctx.workDir, "gateway.log"),
    keyServerHost,
    auditDir: path.join(ctx.workDir, "audit"),
    taskset: ctx.tools.taskset,
    nodeArgs: ctx.gatewayNodeArgs,
    entry: ctx.gatewayEntry,
    mlflowWorkers: ctx.size.mlflowWorkers,
  });
  ctx.progress(`gateway ready in ${gateway.readyMs} ms (audit: ${gateway.audit.detail}); starting nginx in front of the same child`);
  const nginx = await startNginx(ctx.registry, ctx.tools, "nginx", {
    dir: path.join(ctx.workDir, "nginx"),
    port: await findFreePort(),
    role: { kind: "proxy", upstreamPort: childPort, hostHeader: `127.0.0.1:${childPort}` },
  });
  const childUrl = `http://127.0.0.1:${childPort}`;
  const templateDb = path.join(ctx.workDir, "template.db");
  copyFileSync(path.join(dataDir, DATABASE_FILE), templateDb);
  // One run per connection of the write workload, for each path.
  const fixtures = await createFixtures(childUrl, PATHS, WRITE_CONCURRENCY);
  return {
    gateway,
    targets: [
      { name: "direct", url: childUrl },
      { name: "gateway", url: gateway.url, proxyPids: () => [gateway.process.pid] },
      { name: "nginx", url: nginx.url, proxyPids: () => processTree(nginx.process.pid) },
    ],
    childPort,
    fixtures,
    artifactsRoot: path.join(dataDir, "artifacts"),
    templateDb,
    stop: async () => {
      await ctx.registry.stop(nginx.process);
      await gateway.stop();
    },
  };
}
