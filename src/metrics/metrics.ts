import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SupervisorStatus } from "../supervisor/supervisor.js";

/** Latency buckets (seconds) from sub-millisecond gateway answers to long artifact transfers. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

export interface GatewayMetrics {
  registry: Registry;
  observeRequest(operationClass: string, status: number, seconds: number): void;
  observeChild(status: SupervisorStatus): void;
  /** Reports the identity key set's fetch counters (a refetch storm would show here). */
  trackKeyFetches(read: () => { fetches: number; failures: number }): void;
  /** Reports the audit trail's counters: events recorded and the slowest sink's backlog. */
  trackAudit(read: () => { events: number; digests: number; queued: number; ok: boolean }): void;
}

/** Prometheus metrics in a registry of our own (never prom-client's global one). */
export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mlflow_gateway_" });
  const requests = new Counter({
    name: "mlflow_gateway_http_requests_total",
    help: "Requests answered, by MLflow operation class (read, write, delete, ui, health) or gateway outcome, and HTTP status.",
    labelNames: ["class", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "mlflow_gateway_http_request_duration_seconds",
    help: "Time from request arrival to the end of the response, by operation class and status class.",
    labelNames: ["class", "status_class"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const childUp = new Gauge({
    name: "mlflow_gateway_child_up",
    help: "1 while the mlflow server child answers its health check.",
    registers: [registry],
  });
  const crashLoop = new Gauge({
    name: "mlflow_gateway_child_crash_loop",
    help: "1 while the mlflow server child is in a crash loop.",
    registers: [registry],
  });
  const restarts = new Counter({
    name: "mlflow_gateway_child_restarts_total",
    help: "Restarts of the mlflow server child after an unexpected exit.",
    registers: [registry],
  });
  childUp.set(0);
  crashLoop.set(0);

  return {
    registry,
    trackKeyFetches(read) {
      // Counters mirroring the key set's own tallies, set afresh at each scrape.
      new Counter({
        name: "mlflow_gateway_identity_key_fetches_total",
        help: "Successful fetches of the workspace's token signing keys.",
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read().fetches);
        },
      });
      new Counter({
        name: "mlflow_gateway_identity_key_fetch_failures_total",
        help: "Failed fetches of the workspace's token signing keys (cached keys stay in use).",
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read().failures);
        },
      });
    },
    trackAudit(read) {
      new Counter({
        name: "mlflow_gateway_audit_events_total",
        help: "Audit events recorded (one per MLflow API call).",
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read().events);
        },
      });
      new Gauge({
        name: "mlflow_gateway_audit_queue_events",
        help: "Audit records accepted but not yet written by the slowest sink (file: on disk; volume: in the volume).",
        registers: [registry],
        collect() {
          this.set(read().queued);
        },
      });
      new Gauge({
        name: "mlflow_gateway_audit_durable",
        help: "1 while every durable audit sink can keep events; 0 while the failure policy applies.",
        registers: [registry],
        collect() {
          this.set(read().ok ? 1 : 0);
        },
      });
    },
    observeRequest(operationClass, status, seconds) {
      requests.inc({ class: operationClass, status: String(status) });
      latency.observe({ class: operationClass, status_class: `${Math.floor(status / 100)}xx` }, seconds);
    },
    observeChild(status) {
      childUp.set(status.phase === "ready" ? 1 : 0);
      crashLoop.set(status.crashLoop ? 1 : 0);
      // Mirrors the supervisor's own count, which is the source of truth.
      restarts.reset();
      restarts.inc(status.restarts);
    },
  };
}
