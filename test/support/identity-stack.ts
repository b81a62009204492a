import { findFreePort } from "../../src/supervisor/free-port.js";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { type GatewayProcess, startGateway } from "./gateway-process.js";

/**
 * A workspace emulator and a gateway (local SQLite backend) whose identity mode verifies
 * tokens against that workspace. The gateway only contacts the workspace when the first
 * token arrives, so both (each with its own `mlflow server`) start side by side. If one
 * fails to start, the other is stopped before the error is thrown.
 */
export async function startIdentityStack(
  mode: "headers" | "token",
  userNames: string[],
  env: Record<string, string> = {},
): Promise<{ emulator: WorkspaceEmulator; gateway: GatewayProcess }> {
  const port = await findFreePort();
  const [emulator, gateway] = await Promise.allSettled([
    startWorkspaceEmulator({ port, users: userNames.map((userName) => ({ userName })) }),
    startGateway({ env: { GATEWAY_IDENTITY_MODE: mode, DATABRICKS_HOST: `http://127.0.0.1:${port}`, ...env } }),
  ]);
  if (emulator.status === "fulfilled" && gateway.status === "fulfilled") return { emulator: emulator.value, gateway: gateway.value };
  if (emulator.status === "fulfilled") await emulator.value.stop();
  if (gateway.status === "fulfilled") await gateway.value.stop();
  throw emulator.status === "rejected" ? emulator.reason : (gateway as PromiseRejectedResult).reason;
}
