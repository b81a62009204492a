import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyOperation, serviceOf } from "../../../src/routes/classify-operation.js";
import { loadRouteTable, type RouteMatch } from "../../../src/routes/route-table.js";

const table = loadRouteTable();

function route(method: string, path: string): RouteMatch {
  const found = table.match(method, path);
  assert.ok(found?.kind === "route", `${method} ${path} matches a route`);
  return found;
}

describe("RouteTable", () => {
  it("is the table of the pinned MLflow and covers REST, ajax, artifacts, UI and OTLP", () => {
    assert.match(table.mlflowVersion, /^3\.\d+\.\d+$/);
    assert.ok(table.size > 300);
    assert.equal(route("POST", "/api/2.0/mlflow/runs/create").route.operation, "CreateRun");
    assert.equal(route("POST", "/ajax-api/2.0/mlflow/runs/search").route.operation, "SearchRuns");
    assert.equal(route("GET", "/").route.operation, "Serve");
    assert.equal(route("GET", "/static-files/static/js/main.abc.js").operationClass, "ui");
    assert.equal(route("POST", "/v1/traces").service, "traces");
    assert.equal(route("GET", "/get-artifact").route.operation, "ServeArtifacts");
    assert.equal(route("GET", "/model-versions/get-artifact").service, "registry");
    assert.equal(route("POST", "/graphql").operationClass, "read");
  });

  it("extracts path parameters, including multi-segment artifact paths", () => {
    const download = route("GET", "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/dir/model.pkl");
    assert.equal(download.route.operation, "DownloadArtifact");
    assert.deepEqual(download.params, { artifact_path: "1/abc/artifacts/dir/model.pkl" });
    assert.equal(download.service, "artifacts");
    const upload = route("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/x.bin");
    assert.equal(upload.route.operation, "UploadArtifact");
    assert.equal(upload.operationClass, "write");
  });

  it("prefers the literal route where a template overlaps it", () => {
    assert.equal(route("GET", "/ajax-api/3.0/mlflow/mcp-servers/endpoints").route.operation, "SearchAllAccessEndpoints");
    assert.equal(route("GET", "/ajax-api/3.0/mlflow/mcp-servers/some/name").route.operation, "GetMcpServer");
  });

  it("serves HEAD where GET exists and reports the allowed methods otherwise", () => {
    assert.equal(route("HEAD", "/").route.operation, "Serve");
    const wrong = table.match("DELETE", "/api/2.0/mlflow/runs/create");
    assert.deepEqual(wrong, { kind: "method-not-allowed", allowed: ["POST"] });
    assert.equal(table.match("GET", "/api/2.0/mlflow/no-such-thing"), undefined);
    assert.equal(table.match("GET", "/API/2.0/mlflow/experiments/get"), undefined, "routes are case-sensitive, as in MLflow");
  });

  it("classifies the assistant routes so the gateway can refuse them", () => {
    assert.equal(route("POST", "/ajax-api/3.0/mlflow/assistant/message").service, "assistant");
    assert.equal(route("GET", "/ajax-api/3.0/mlflow/assistant/sessions/s1/stream").service, "assistant");
  });
});

describe("classifyOperation", () => {
  it("reads, writes and deletes by MLflow's operation names", () => {
    assert.equal(classifyOperation({ method: "POST", operation: "SearchRuns" }), "read");
    assert.equal(classifyOperation({ method: "POST", operation: "LogBatch" }), "write");
    assert.equal(classifyOperation({ method: "DELETE", operation: "DeleteRegisteredModelAlias" }), "delete");
    assert.equal(classifyOperation({ method: "POST", operation: "DeleteRun" }), "delete");
    assert.equal(classifyOperation({ method: "GET", operation: "Health" }), "health");
  });

  it("gives every route a class and the registry its own service", () => {
    assert.equal(serviceOf("/api/2.0/mlflow/registered-models/create"), "registry");
    assert.equal(serviceOf("/api/2.0/mlflow/experiments/create"), "tracking");
  });
});
