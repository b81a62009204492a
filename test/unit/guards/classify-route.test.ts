import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GatewayError } from "../../../src/errors.js";
import { classifyRoute } from "../../../src/guards/classify-route.js";
import { loadRouteTable } from "../../../src/routes/route-table.js";

const table = loadRouteTable();

function refusal(method: string, path: string): GatewayError {
  try {
    classifyRoute(table, method, path);
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error;
  }
  assert.fail(`${method} ${path} was accepted`);
}

describe("classifyRoute", () => {
  it("refuses every assistant route with 403", () => {
    for (const [method, path] of [
      ["POST", "/ajax-api/3.0/mlflow/assistant/message"],
      ["PUT", "/ajax-api/3.0/mlflow/assistant/config"],
      ["POST", "/ajax-api/3.0/mlflow/assistant/skills/install"],
    ] as const) {
      const error = refusal(method, path);
      assert.equal(error.code, "ROUTE_FORBIDDEN");
      assert.equal(error.status, 403);
    }
  });

  it("answers 404 for paths MLflow does not serve and 405 with Allow for wrong methods", () => {
    assert.equal(refusal("GET", "/etc/passwd").code, "ROUTE_NOT_FOUND");
    const wrongMethod = refusal("GET", "/api/2.0/mlflow/runs/create");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers["Allow"], "POST");
  });

  it("returns the MLflow operation for a known route", () => {
    assert.equal(classifyRoute(table, "GET", "/api/2.0/mlflow/experiments/get").route.operation, "GetExperiment");
  });
});
