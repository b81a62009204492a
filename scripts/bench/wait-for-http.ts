/** Polls a URL until it answers 200: how the benchmark knows a server is ready. */
import type { StartedProcess } from "./process-registry.js";

/** Short, so a start-up time is measured to within a few milliseconds. */
export const READY_POLL_MS = 10;

export async function waitForHttp(
  url: string,
  options: { timeoutMs: number; process?: StartedProcess; headers?: Record<string, string> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (options.process?.hasExited()) {
      throw new Error(`${options.process.name} exited (${String(await options.process.exited)}) before ${url} answered`);
    }
    const status = await fetch(url, { headers: options.headers, signal: AbortSignal.timeout(5_000) }).then(
      async (response) => {
        await response.arrayBuffer();
        return response.status;
      },
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  throw new Error(`${url} did not answer 200 within ${options.timeoutMs} ms`);
}
