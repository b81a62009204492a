import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodePath } from "../../../src/guards/decode-path.js";

describe("decodePath", () => {
  it("decodes as uvicorn does and drops the query", () => {
    assert.equal(decodePath("/api/2.0/mlflow/experiments/get?experiment_id=1"), "/api/2.0/mlflow/experiments/get");
    assert.equal(decodePath("/ajax-api/3.0/mlflow%2Fassistant/message"), "/ajax-api/3.0/mlflow/assistant/message");
    assert.equal(decodePath("/static-files/a%20b.js"), "/static-files/a b.js");
  });

  for (const [what, url] of [
    ["malformed percent-encoding", "/api/%E0%A4%A"],
    ["an encoded NUL", "/api/2.0/x%00y"],
    ["a backslash", "/api\\2.0"],
    ["an absolute-form target", "http://evil/api"],
    ["an over-long URL", `/${"a".repeat(9_000)}`],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => decodePath(url),
        (error: { code?: string; status?: number }) => error.code === "PATH_REJECTED" && error.status === 400,
      );
    });
  }
});
