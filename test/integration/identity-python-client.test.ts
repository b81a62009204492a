/**
 * Issue 4, attribution in the production topology: the real MLflow Python client (from
 * .venv) -> front-door emulator (user authorization on: it verifies the client's workspace
 * token and forwards it with its own X-Forwarded-* headers) -> gateway in `headers` mode
 * (verifies the forwarded token against the workspace emulator's keys) -> mlflow server.
 * The client claims to be mallory in every way it can (USER/LOGNAME, the mlflow.user tag,
 * set_tag); MLflow must record the person whose token it is.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import type { GatewayProcess } from "../support/gateway-process.js";
import { startIdentityStack } from "../support/identity-stack.js";
import { runPythonJson } from "../support/python.js";

const ALICE = "alice@example.com";
const CLAIMED = "mallory";

describe("identity: the MLflow Python client through the front door records the token's owner, whoever it claims to be", () => {
  let emulator: WorkspaceEmulator | undefined;
  let gateway: GatewayProcess | undefined;
  let frontDoor: FrontDoor | undefined;

  before(async () => {
    ({ emulator, gateway } = await startIdentityStack("headers", [ALICE, "mallory@example.com"]));
    frontDoor = await startFrontDoor({ upstream: gateway.url, workspace: emulator, userAuthorization: true });
  });

  after(async () => {
    await frontDoor?.close();
    await gateway?.stop();
    await emulator?.stop();
  });

  const clientEnv = (trackingUri: string, token: string) => ({
    MLFLOW_TRACKING_URI: trackingUri,
    MLFLOW_TRACKING_TOKEN: token,
    USER: CLAIMED,
    LOGNAME: CLAIMED,
    // A refused call must fail the script at once, not after minutes of retries.
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
  });

  it("logs a run whose user_id and mlflow.user tag are alice's, though the client claims mallory", async () => {
    const token = await emulator!.mintUserToken({ userName: ALICE });
    const door = frontDoor!;
    const refusedBefore = door.refused;
    const recorded = await runPythonJson<Record<string, string>>("claimed_user_run.py", [door.url, CLAIMED], clientEnv(door.url, token));
    assert.deepEqual(recorded, { user_id: ALICE, tag: ALICE, fluent_user_id: ALICE, fluent_tag: ALICE });
    assert.equal(door.refused, refusedBefore, "every call of the client passed the front door");
    // The writes went through the gateway as attributed operations, with success.
    const creates = gateway!.logs.filter((line) => line.source === "access" && line["operation"] === "CreateRun");
    assert.deepEqual(
      creates.map((line) => line["status"]),
      [200, 200],
    );
  });

  it("the same client sent straight to the gateway with a valid token (no front door) is refused with 401", async () => {
    const token = await emulator!.mintUserToken({ userName: ALICE });
    const url = gateway!.url;
    await assert.rejects(runPythonJson("claimed_user_run.py", [url, CLAIMED], clientEnv(url, token)), (error: Error) => {
      assert.match(error.message, /UNAUTHENTICATED/);
      assert.match(error.message, /no identity was forwarded/);
      return true;
    });
  });
});
