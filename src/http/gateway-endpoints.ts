import type { ServerResponse } from "node:http";
import type { GatewayMetrics } from "../metrics/metrics.js";
import type { ReadinessCheck } from "../readiness.js";
import type { Supervisor } from "../supervisor/supervisor.js";

/** The gateway's own endpoints live under this prefix, which no MLflow route uses. */
export const GATEWAY_PREFIX = "/-/";

export interface GatewayEndpointsOptions {
  version: { gateway: string; mlflow: string; node: string; mode: string };
  supervisor: Supervisor;
  metrics: GatewayMetrics;
  checks: readonly ReadinessCheck[];
  isShuttingDown(): boolean;
}

/** The gateway's own endpoints (served by gateway-pages.ts, which adds 404 and 405). */
export const GATEWAY_ENDPOINTS = ["/-/live", "/-/ready", "/-/version", "/-/metrics"] as const;

export function sendLiveness(res: ServerResponse): void {
  sendJson(res, 200, { status: "alive" });
}

export function sendVersion(res: ServerResponse, options: GatewayEndpointsOptions): void {
  sendJson(res, 200, options.version);
}

export async function sendMetrics(res: ServerResponse, options: GatewayEndpointsOptions): Promise<void> {
  const body = await options.metrics.registry.metrics();
  res.statusCode = 200;
  res.setHeader("Content-Type", options.metrics.registry.contentType);
  res.end(body);
}

export function sendReadiness(res: ServerResponse, options: GatewayEndpointsOptions): void {
  const child = options.supervisor.status();
  const checks: Record<string, { ok: boolean; detail: string }> = {
    configuration: { ok: true, detail: "valid" },
    mlflow: { ok: child.phase === "ready", detail: describeChild(child) },
  };
  for (const check of options.checks) checks[check.name] = check.check();
  if (options.isShuttingDown()) checks["lifecycle"] = { ok: false, detail: "shutting down" };
  const ready = Object.values(checks).every((c) => c.ok);
  sendJson(res, ready ? 200 : 503, {
    status: ready ? "ready" : "not ready",
    checks,
    mlflow: {
      phase: child.phase,
      crashLoop: child.crashLoop,
      restarts: child.restarts,
      consecutiveFailures: child.consecutiveFailures,
      nextStartAt: child.nextStartAt,
      lastExit:
        child.lastExit === undefined ? undefined : { reason: child.lastExit.reason, at: child.lastExit.at, lastLines: child.lastExit.lastLines },
    },
  });
}

function describeChild(status: ReturnType<Supervisor["status"]>): string {
  switch (status.phase) {
    case "ready":
      return "mlflow server answers /health";
    case "backoff":
      return status.crashLoop
        ? `crash loop: ${status.consecutiveFailures} failures in a row (last: ${status.lastExit?.reason ?? "unknown"}); next attempt at ${status.nextStartAt ?? "?"}`
        : `restarting after: ${status.lastExit?.reason ?? "unknown"}`;
    default:
      return `mlflow server is ${status.phase}`;
  }
}

/** Answers with a JSON body; returns its size in bytes (for the audit trail's bytes out). */
export function sendJson(res: ServerResponse, status: number, body: unknown): number {
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Cache-Control", "no-store");
  const text = JSON.stringify(body);
  res.end(text);
  return Buffer.byteLength(text);
}
