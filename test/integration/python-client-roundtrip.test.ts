import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runPythonJson } from "../support/python.js";
import { type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";

interface Roundtrip {
  experiment_name: string;
  status: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  metric_history: Array<[number, number]>;
  artifacts: string[];
  model_artifacts: string[];
  written: { small: string; large: string; large_bytes: number };
  read: { small: string; large: string; large_bytes: number };
}

describe("the real MLflow Python client through the gateway", () => {
  let gateway: SharedGateway;
  before(async () => {
    gateway = await useSharedGateway();
  });
  after(async () => {
    await gateway.release();
  });

  it("writes an experiment, a run, params, metrics, tags, a small and a 50 MB artifact, and reads them all back", async () => {
    const name = `roundtrip-${Date.now()}`;
    const result = await runPythonJson<Roundtrip>("client_roundtrip.py", [gateway.url, name, "50"]);
    assert.equal(result.experiment_name, name);
    assert.equal(result.status, "FINISHED");
    assert.deepEqual(result.params, { lr: "0.01", layers: "3" });
    assert.deepEqual(result.tags, { team: "ml-platform", purpose: "gateway-test" });
    assert.deepEqual(
      result.metric_history,
      [0, 1, 2, 3, 4].map((step) => [step, 1 / (step + 1)]),
    );
    assert.deepEqual(result.artifacts, ["model", "notes.txt"]);
    assert.deepEqual(result.model_artifacts, ["model/weights.bin"]);
    assert.equal(result.written.large_bytes, 50 * 1024 * 1024);
    assert.deepEqual(result.read, result.written, "artifact bytes are identical after the round trip");
  });
});
