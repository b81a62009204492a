/** Starts scripts/bench/bare-node-proxy.ts (the Node.js reference) and waits until it proxies. */
import path from "node:path";
import type { BenchContext } from "./bench-context.js";
import { findFreePort } from "../../src/supervisor/free-port.js";
import type { StartedProcess } from "./process-registry.js";
import { waitForHttp } from "./wait-for-http.js";

const SCRIPT = path.join(import.meta.dirname, "bare-node-proxy.ts");

export interface BareNodeProxy {
  url: string;
  process: StartedProcess;
}

/** `probePath` must answer 200 through the proxy; `cpu` pins it like the proxy under test. */
export async function startBareNodeProxy(
  ctx: BenchContext,
  upstreamPort: number,
  logDir: string,
  probePath: string,
  cpu?: number,
): Promise<BareNodeProxy> {
  const port = await findFreePort();
  const node = [process.execPath, "--import", "tsx", SCRIPT, String(port), String(upstreamPort)];
  const [file, ...args] = cpu === undefined ? node : [ctx.tools.taskset, "-c", String(cpu), ...node];
  const started = ctx.registry.start("bare node:http proxy", file as string, args, { logFile: path.join(logDir, "bare-node-proxy.log") });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}${probePath}`, { timeoutMs: 30_000, process: started });
  return { url, process: started };
}
