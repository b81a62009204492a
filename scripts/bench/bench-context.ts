/** What every workload needs from the orchestrator. */
import type { BenchSize } from "./bench-options.js";
import type { Tools } from "./ensure-tools.js";
import type { ProcessRegistry } from "./process-registry.js";

export interface BenchContext {
  registry: ProcessRegistry;
  tools: Tools;
  size: BenchSize;
  /** The run's temporary folder (removed at the end). */
  workDir: string;
  /** The gateway build every gateway runs (dist/main.js unless --gateway-entry). */
  gatewayEntry: string;
  /** Node options for every gateway (`--cpu-prof` with --profile). */
  gatewayNodeArgs: readonly string[];
  /** The token header every request carries. */
  authHeaders: Record<string, string>;
  progress(line: string): void;
  note(line: string): void;
}
