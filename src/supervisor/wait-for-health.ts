/** How often the child's /health is polled while it starts. */
export const HEALTH_POLL_INTERVAL_MS = 200;
/** One health request may take this long before it counts as a failure. */
export const HEALTH_REQUEST_TIMEOUT_MS = 5_000;

/** One GET /health: true when MLflow answers 200 "OK". */
export async function checkHealth(baseUrl: string, timeoutMs = HEALTH_REQUEST_TIMEOUT_MS): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return response.ok && body.trim() === "OK";
  } catch {
    return false;
  }
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
