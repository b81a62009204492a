import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeCall, type AuditedCall } from "../../../src/audit/describe-call.js";

function call(operation: string, body: unknown): AuditedCall {
  return {
    requestId: "req-1",
    startedAt: new Date("2026-11-27T10:00:00.000Z"),
    method: "POST",
    path: "/api/2.0/mlflow/x",
    query: new URLSearchParams(),
    identity: undefined,
    sourceIp: undefined,
    userAgent: undefined,
    operation: { name: operation, service: "tracking", params: {} },
    status: 200,
    abandoned: false,
    mlflowErrorCode: undefined,
    gatewayError: undefined,
    decision: { allow: true, rule: "default-write" },
    durationMs: 1,
    bytesIn: 0,
    bytesOut: 0,
    body,
  };
}

describe("describeCall", () => {
  it("reads a call's objects by its operation: an experiment's name is not a model's", () => {
    assert.deepEqual(describeCall(call("CreateExperiment", { name: "churn" })).objects, { experiment_name: "churn" });
    assert.deepEqual(describeCall(call("CreateRegisteredModel", { name: "churn" })).objects, { model_name: "churn" });
  });

  it("lets objects the gateway established itself win over the request's", () => {
    const event = describeCall({ ...call("DownloadArtifact", { run_id: "from-body" }), objects: { run_id: "resolved", experiment_id: "7" } });
    assert.deepEqual(event.objects, { run_id: "resolved", experiment_id: "7" });
  });
});
