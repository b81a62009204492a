import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attributeRequest } from "../../../src/attribution/attribute-request.js";

describe("attributeRequest", () => {
  it("sets CreateRun's user_id and mlflow.user tag to the verified person, whatever was claimed", () => {
    const body = {
      experiment_id: "1",
      user_id: "mallory",
      tags: [
        { key: "mlflow.user", value: "mallory" },
        { key: "team", value: "x" },
      ],
    };
    assert.deepEqual(attributeRequest("CreateRun", body, "alice@example.com"), {
      experiment_id: "1",
      user_id: "alice@example.com",
      tags: [
        { key: "mlflow.user", value: "alice@example.com" },
        { key: "team", value: "x" },
      ],
    });
  });

  it("adds the mlflow.user tag to a run that did not claim anybody", () => {
    const result = attributeRequest("CreateRun", { experiment_id: "1" }, "alice");
    assert.deepEqual(result, { experiment_id: "1", user_id: "alice", tags: [{ key: "mlflow.user", value: "alice" }] });
  });

  it("rewrites mlflow.user in SetTag and in the tags of LogBatch, models and versions", () => {
    assert.deepEqual(attributeRequest("SetTag", { run_id: "r", key: "mlflow.user", value: "mallory" }, "alice"), {
      run_id: "r",
      key: "mlflow.user",
      value: "alice",
    });
    const batch = attributeRequest("LogBatch", { run_id: "r", tags: [{ key: "mlflow.user", value: "mallory" }], metrics: [] }, "alice");
    assert.deepEqual(batch?.["tags"], [{ key: "mlflow.user", value: "alice" }]);
    const version = attributeRequest("CreateModelVersion", { name: "m", tags: [{ key: "mlflow.user", value: "m" }] }, "alice");
    assert.deepEqual(version?.["tags"], [{ key: "mlflow.user", value: "alice" }]);
  });

  it("leaves bodies that name nobody alone", () => {
    assert.equal(attributeRequest("SetTag", { run_id: "r", key: "team", value: "x" }, "alice"), undefined);
    assert.equal(attributeRequest("LogBatch", { run_id: "r", metrics: [{ key: "m", value: 1 }] }, "alice"), undefined);
    assert.equal(attributeRequest("CreateRun", { user_id: "alice", tags: [{ key: "mlflow.user", value: "alice" }] }, "alice"), undefined);
  });
});
