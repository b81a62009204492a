/**
 * Runs the integration scenarios with one shared gateway for the ones that leave the
 * child alone (2-core machines: start the fewest MLflow servers possible), then stops
 * it. Usage: node --import tsx test/support/run-integration.ts <test files...>
 *
 * Two phases. Files that assert timing (latency under attack, shutdown or cache bounds,
 * memory growth) run one at a time with the machine to themselves; every other file runs
 * two at a time, because most of their wall time is spent waiting for Python to start.
 */
import { basename } from "node:path";
import { existsSync } from "node:fs";
import { execa } from "execa";
import { startGateway } from "./gateway-process.js";
import { SHARED_GATEWAY_ENV, SHARED_GATEWAY_SETTINGS } from "./shared-gateway.js";

/**
 * Scenarios whose assertions measure time or resources and so must not share the two
 * cores with another scenario. A file added here must exist, so the list cannot rot.
 */
const RUN_ALONE: readonly string[] = [
  "test/integration/hostile-clients.test.ts", // a well-behaved client's latency during floods; fills the shared gateway's connection cap
  "test/integration/identity-refusals.test.ts", // a valid caller's latency during an invalid-token flood
  "test/integration/identity-key-rotation.test.ts", // runs inside a 30 s key-refetch cooldown
  "test/integration/graceful-shutdown.test.ts", // stop within 15 s of SIGTERM
  "test/integration/gateway-sigkill.test.ts", // the child gone within 10 s
  "test/integration/child-failures.test.ts", // the upstream timeout answered within 3 s of its bound
  "test/integration/audit-volume.test.ts", // no call slower than 1.5 s while volume writes take 3 s
  "test/integration/authorization.test.ts", // group cache lifetime and stale bound, to the second
  "test/integration/databricks-artifacts.test.ts", // RSS growth during a 1 GiB transfer; request time limit
];

const PARALLEL_CONCURRENCY = 2;

const files = process.argv.slice(2);
const missing = RUN_ALONE.filter((file) => !existsSync(file));
if (missing.length > 0) {
  console.error(`run-integration: RUN_ALONE names files that do not exist: ${missing.join(", ")}`);
  process.exit(2);
}
const aloneNames = new Set(RUN_ALONE.map((file) => basename(file)));
const alone = files.filter((file) => aloneNames.has(basename(file)));
const together = files.filter((file) => !aloneNames.has(basename(file)));

async function runPhase(phaseFiles: string[], concurrency: number, sharedUrl: string): Promise<number> {
  if (phaseFiles.length === 0) return 0;
  console.log(`\n--- ${String(phaseFiles.length)} file(s), ${concurrency === 1 ? "one at a time" : `${String(concurrency)} at a time`}`);
  const started = performance.now();
  const result = await execa(
    process.execPath,
    ["--import", "tsx", "--test", `--test-concurrency=${String(concurrency)}`, "--test-reporter=spec", ...phaseFiles],
    {
      env: { [SHARED_GATEWAY_ENV]: sharedUrl },
      stdio: "inherit",
      reject: false,
    },
  );
  console.log(`--- phase done in ${((performance.now() - started) / 1000).toFixed(0)} s, exit ${String(result.exitCode)}`);
  return result.exitCode ?? 1;
}

const gateway = await startGateway({ env: { ...SHARED_GATEWAY_SETTINGS } });
let exitCode = 1;
try {
  const togetherExit = await runPhase(together, PARALLEL_CONCURRENCY, gateway.url);
  const aloneExit = await runPhase(alone, 1, gateway.url);
  exitCode = togetherExit || aloneExit;
} finally {
  const stopped = await gateway.stop();
  if (stopped.exitCode !== 0) {
    console.error(`shared gateway exited with ${String(stopped.exitCode)}`);
    exitCode = exitCode || 1;
  }
}
process.exit(exitCode);
