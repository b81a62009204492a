import { rmSync } from "node:fs";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, type FrontDoorOptions, startFrontDoor } from "../front-door/front-door.js";
import { databricksEnv, grantAppAccess, workspaceUsers } from "./databricks.js";
import { type GatewayProcess, startGateway } from "./gateway-process.js";

/** The app as a user outside Databricks reaches it: front door -> gateway (Databricks mode) -> workspace emulator. */
export interface AppStack {
  workspace: WorkspaceEmulator;
  gateway: GatewayProcess;
  frontDoor: FrontDoor;
  /** The gateway's audit files. */
  auditDir: string;
  /** The user's OAuth token, what `databricks auth token` prints as access_token. */
  token: string;
  /** Stops all three and removes the audit files; safe after a failed start. */
  stop(): Promise<void>;
}

/**
 * One workspace user, the app's service principal allowed to register models in
 * `modelSchema`, and a front door with user authorization (the caller's token reaches the
 * gateway). `frontDoor` adds front-door settings such as its request time limit.
 */
export async function startAppStack(options: {
  user: string;
  modelSchema: string;
  frontDoor?: Omit<Partial<FrontDoorOptions>, "upstream" | "workspace">;
}): Promise<AppStack> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    const workspace = await startWorkspaceEmulator({ users: workspaceUsers(options.user) });
    stops.push(() => workspace.stop());
    await grantAppAccess(workspace, { modelSchema: options.modelSchema });
    const env = databricksEnv(workspace);
    const auditDir = env["GATEWAY_AUDIT_DIR"] ?? "";
    stops.push(() => Promise.resolve(rmSync(auditDir, { recursive: true, force: true })));
    const gateway = await startGateway({ tempDataDir: false, env });
    stops.push(async () => {
      await gateway.stop();
    });
    const frontDoor = await startFrontDoor({ userAuthorization: true, ...options.frontDoor, upstream: gateway.url, workspace });
    stops.push(() => frontDoor.close());
    const token = await workspace.mintUserToken({ userName: options.user });
    return { workspace, gateway, frontDoor, auditDir, token, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
