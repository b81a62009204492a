/**
 * Runs the integration scenarios with one shared gateway for the ones that leave the
 * child alone (2-core machines: start the fewest MLflow servers possible), then stops
 * it. Usage: node --import tsx test/support/run-integration.ts <test files...>
 */
import { execa } from "execa";
import { startGateway } from "./gateway-process.js";
import { SHARED_GATEWAY_ENV, SHARED_GATEWAY_SETTINGS } from "./shared-gateway.js";

const files = process.argv.slice(2);
const gateway = await startGateway({ env: { ...SHARED_GATEWAY_SETTINGS } });
let exitCode = 1;
try {
  const result = await execa(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files], {
    env: { [SHARED_GATEWAY_ENV]: gateway.url },
    stdio: "inherit",
    reject: false,
  });
  exitCode = result.exitCode ?? 1;
} finally {
  const stopped = await gateway.stop();
  if (stopped.exitCode !== 0) {
    console.error(`shared gateway exited with ${String(stopped.exitCode)}`);
    exitCode = exitCode || 1;
  }
}
process.exit(exitCode);
