import { request } from "node:http";

/**
 * How often the child's /health is polled while it starts. Each poll before MLflow
 * listens is a refused connection on loopback (microseconds); a short interval keeps
 * the gateway from adding up to one interval to every cold start.
 */
export const HEALTH_POLL_INTERVAL_MS = 25;
/** One health request may take this long before it counts as a failure. */
export const HEALTH_REQUEST_TIMEOUT_MS = 5_000;

/** One GET /health: true when MLflow answers 200 "OK". */
export function checkHealth(baseUrl: string, timeoutMs = HEALTH_REQUEST_TIMEOUT_MS): Promise<boolean> {
  // node:http rather than fetch: fetch's first use loads undici (~100 ms of CPU), which
  // would land in every cold start; a fresh connection each time (no pooled socket).
  return new Promise((resolve) => {
    const probe = request(`${baseUrl}/health`, { agent: false, timeout: timeoutMs }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (body.length < 64) body += chunk;
      });
      response.once("end", () => resolve(response.statusCode === 200 && body.trim() === "OK"));
      response.once("error", () => resolve(false));
    });
    probe.once("timeout", () => probe.destroy(new Error("health probe timed out")));
    probe.once("error", () => resolve(false));
    probe.end();
  });
}

export type HealthWaitOutcome = "healthy" | "timeout" | "aborted";

/** Polls /health until it answers, the deadline passes, or `signal` aborts (the child exited). */
export async function waitForHealth(baseUrl: string, timeoutMs: number, signal: AbortSignal): Promise<HealthWaitOutcome> {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted) {
    if (await checkHealth(baseUrl, Math.min(HEALTH_REQUEST_TIMEOUT_MS, Math.max(1, deadline - Date.now())))) {
      return "healthy";
    }
    if (Date.now() >= deadline) return "timeout";
    await sleep(HEALTH_POLL_INTERVAL_MS, signal);
  }
  return "aborted";
}

/** A sleep that ends early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
