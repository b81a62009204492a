import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { auditString } from "../../../src/audit/audit-event.js";
import { extractObjects } from "../../../src/audit/audit-objects.js";

describe("auditString", () => {
  it("turns CR, LF, other controls and JSON line separators into spaces, and bounds length", () => {
    const forged = 'run\n{"action":"DeleteRun"}\r\u2028x';
    const clean = auditString(forged);
    assert.ok(!/[\r\n\u2028]/.test(clean));
    assert.equal(JSON.stringify({ v: clean }).split("\n").length, 1);
    assert.equal(auditString("x".repeat(2_000)).length, 515);
  });
});

describe("extractObjects", () => {
  it("names the objects of a call from path, query and body, and keeps only keys of params and tags", () => {
    const { objects, writtenKeys } = extractObjects({
      query: new URLSearchParams("run_uuid=abc&path=model/MLmodel"),
      body: {
        experiment_id: "7",
        tags: [{ key: "team", value: "secret-value" }],
        params: [{ key: "lr", value: "0.1" }],
        name: "main.s.m",
        version: 2,
      },
    });
    assert.deepEqual(objects, { experiment_id: "7", run_id: "abc", model_name: "main.s.m", version: "2", artifact_path: "model/MLmodel" });
    assert.deepEqual(writtenKeys, ["lr", "team"], "params first, then tags; keys only");
    assert.ok(!JSON.stringify({ objects, writtenKeys }).includes("secret-value"), "values are left out");
  });

  it("reads ids where MLflow does: the query of a GET first, the body of any other method first", () => {
    const query = new URLSearchParams("run_id=from-query");
    const body = { run_id: "from-body" };
    assert.equal(extractObjects({ method: "GET", query, body }).objects.run_id, "from-query");
    assert.equal(extractObjects({ method: "POST", query, body }).objects.run_id, "from-body");
    assert.equal(extractObjects({ method: "POST", query, body: {} }).objects.run_id, "from-query", "the UI's upload names its run in the query");
  });

  it("reads artifact paths from route parameters and ignores non-scalar fields", () => {
    const { objects } = extractObjects({ pathParams: { artifact_path: "1/abc/artifacts/x.bin" }, body: { run_id: { nested: true } } });
    assert.deepEqual(objects, { artifact_path: "1/abc/artifacts/x.bin" });
  });
});
