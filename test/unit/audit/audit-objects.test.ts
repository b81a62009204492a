import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuditObjects } from "../../../src/audit/audit-event.js";
import { extractObjects, REGISTERED_MODEL_OPERATIONS } from "../../../src/audit/audit-objects.js";
import routeData from "../../../src/routes/mlflow-routes.json" with { type: "json" };

const MODEL = "main.ml.churn";

/** What a call sends, as MLflow's own clients send it (mlflow/protos/*.proto, mlflow/server/handlers.py). */
interface Case {
  operation: string | undefined;
  method: string;
  query?: string;
  pathParams?: Record<string, string>;
  body?: Record<string, unknown>;
  objects: AuditObjects;
}

const CASES: Record<string, Case> = {
  // Experiments: their `name` is an experiment's, never a model's.
  "CreateExperiment names the experiment by name, not a model": {
    operation: "CreateExperiment",
    method: "POST",
    body: { name: "churn", artifact_location: "", tags: [{ key: "team", value: "risk" }] },
    objects: { experiment_name: "churn" },
  },
  "UpdateExperiment names the experiment and its new name": {
    operation: "UpdateExperiment",
    method: "POST",
    body: { experiment_id: "7", new_name: "churn-v2" },
    objects: { experiment_id: "7", experiment_name: "churn-v2" },
  },
  "GetExperimentByName names the experiment it looks up": {
    operation: "GetExperimentByName",
    method: "GET",
    query: "experiment_name=churn",
    objects: { experiment_name: "churn" },
  },

  // The model registry: `name` is the registered model's, with its version and alias.
  "CreateRegisteredModel names the model": {
    operation: "CreateRegisteredModel",
    method: "POST",
    body: { name: MODEL, description: "churn model", tags: [{ key: "owner", value: "risk" }] },
    objects: { model_name: MODEL },
  },
  "GetRegisteredModel names the model from its query": {
    operation: "GetRegisteredModel",
    method: "GET",
    query: `name=${MODEL}`,
    objects: { model_name: MODEL },
  },
  "CreateModelVersion names the model, the source run and logged model": {
    operation: "CreateModelVersion",
    method: "POST",
    body: { name: MODEL, source: "models:/m-abc", run_id: "r1", model_id: "m-abc" },
    objects: { model_name: MODEL, run_id: "r1", logged_model_id: "m-abc" },
  },
  "SetRegisteredModelAlias names the model, its alias and version": {
    operation: "SetRegisteredModelAlias",
    method: "POST",
    body: { name: MODEL, alias: "champion", version: "2" },
    objects: { model_name: MODEL, alias: "champion", version: "2" },
  },
  "the model-version file view names the model and version": {
    operation: "ServeModelVersionArtifact",
    method: "GET",
    query: `name=${MODEL}&version=3&path=MLmodel`,
    objects: { model_name: MODEL, version: "3", artifact_path: "MLmodel" },
  },

  // Other objects called `name`: none is a registered model.
  "CreateLoggedModel names its experiment, not a registered model": {
    operation: "CreateLoggedModel",
    method: "POST",
    body: { experiment_id: "7", name: "model", source_run_id: "r1", model_type: "sklearn" },
    objects: { experiment_id: "7" },
  },
  "RegisterScorer names its experiment, not a registered model": {
    operation: "RegisterScorer",
    method: "POST",
    body: { experiment_id: "7", name: "churn", serialized_scorer: "{}" },
    objects: { experiment_id: "7" },
  },
  "GetScorer's version is the scorer's, not a model version": {
    operation: "GetScorer",
    method: "GET",
    query: "experiment_id=7&name=churn&version=2",
    objects: { experiment_id: "7" },
  },
  "CreateDataset names no registered model": {
    operation: "CreateDataset",
    method: "POST",
    body: { name: "churn", experiment_ids: ["7"] },
    objects: {},
  },
  "CreateWebhook names no registered model": {
    operation: "CreateWebhook",
    method: "POST",
    body: { name: "churn", url: "https://hooks.example.com/x", events: [] },
    objects: {},
  },
  "an MCP server's path name and alias are not a registered model's": {
    operation: "DeleteMcpServerAlias",
    method: "DELETE",
    pathParams: { name: "churn", alias: "champion" },
    objects: {},
  },

  // Searches: a filter mentioning a name is not an identifier.
  "SearchExperiments with a name-less body names nothing": {
    operation: "SearchExperiments",
    method: "POST",
    body: { max_results: 100, filter: "name = 'churn'", order_by: ["name ASC"], view_type: "ACTIVE_ONLY" },
    objects: {},
  },
  "SearchModelVersions filtered by model names nothing": {
    operation: "SearchModelVersions",
    method: "GET",
    query: `filter=${encodeURIComponent(`name='${MODEL}'`)}`,
    objects: {},
  },
  "a call no route matched names no model": {
    operation: undefined,
    method: "POST",
    body: { name: MODEL, version: "1" },
    objects: {},
  },
};

describe("extractObjects", () => {
  for (const [behaviour, call] of Object.entries(CASES)) {
    it(behaviour, () => {
      const { objects } = extractObjects({
        operation: call.operation,
        method: call.method,
        query: new URLSearchParams(call.query ?? ""),
        ...(call.pathParams === undefined ? {} : { pathParams: call.pathParams }),
        ...(call.body === undefined ? {} : { body: call.body }),
      });
      assert.deepEqual(objects, call.objects);
    });
  }

  it("treats as model-registry calls exactly the installed MLflow's registry operations that carry a name, and the model-version file view", () => {
    // model_registry.proto's searches carry a filter, not a name.
    const nameless = new Set(["SearchRegisteredModels", "SearchModelVersions"]);
    const registry = routeData.routes
      .filter((route) => route.source === "proto:ModelRegistryService" && !nameless.has(route.operation))
      .map((route) => route.operation);
    const expected = [...new Set([...registry, "ServeModelVersionArtifact"])].sort();
    assert.deepEqual([...REGISTERED_MODEL_OPERATIONS].sort(), expected);
  });

  it("keeps only keys of params and tags, never their values", () => {
    const { objects, writtenKeys } = extractObjects({
      operation: "LogBatch",
      method: "POST",
      body: {
        run_id: "abc",
        tags: [{ key: "team", value: "secret-value" }],
        params: [{ key: "lr", value: "0.1" }],
      },
    });
    assert.deepEqual(objects, { run_id: "abc" });
    assert.deepEqual(writtenKeys, ["lr", "team"], "params first, then tags; keys only");
    assert.ok(!JSON.stringify({ objects, writtenKeys }).includes("secret-value"), "values are left out");
  });

  it("reads ids where MLflow does: the query of a GET first, the body of any other method first", () => {
    const query = new URLSearchParams("run_id=from-query");
    const body = { run_id: "from-body" };
    assert.equal(extractObjects({ operation: "GetRun", method: "GET", query, body }).objects.run_id, "from-query");
    assert.equal(extractObjects({ operation: "UpdateRun", method: "POST", query, body }).objects.run_id, "from-body");
    assert.equal(
      extractObjects({ operation: "ServeUploadArtifact", method: "POST", query, body: {} }).objects.run_id,
      "from-query",
      "the UI's upload names its run in the query",
    );
  });

  it("reads artifact paths from route parameters and ignores non-scalar fields", () => {
    const { objects } = extractObjects({
      operation: "DownloadArtifact",
      pathParams: { artifact_path: "1/abc/artifacts/x.bin" },
      body: { run_id: { nested: true } },
    });
    assert.deepEqual(objects, { artifact_path: "1/abc/artifacts/x.bin" });
  });
});
