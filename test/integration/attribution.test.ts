import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runPythonJson } from "../support/python.js";
import { type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";

describe("runs record the verified person, not the one the client claims", () => {
  let gateway: SharedGateway;
  before(async () => {
    gateway = await useSharedGateway();
  });
  after(async () => {
    await gateway.release();
  });

  it("sets user_id and mlflow.user to the gateway's identity (local mode: the local developer)", async () => {
    const result = await runPythonJson<Record<string, string>>("claimed_user_run.py", [gateway.url, "mallory"]);
    assert.deepEqual(result, {
      user_id: "local-developer",
      tag: "local-developer",
      fluent_user_id: "local-developer",
      fluent_tag: "local-developer",
    });
  });

  it("refuses a body that is not JSON on an attributed operation, with an MLflow-shaped 400", async () => {
    const response = await fetch(`${gateway.url}/api/2.0/mlflow/runs/create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error_code: string; gateway_error: string };
    assert.equal(body.error_code, "BAD_REQUEST");
    assert.equal(body.gateway_error, "BODY_REJECTED");
  });
});
