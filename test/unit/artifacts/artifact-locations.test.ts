import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  databricksRoot,
  modelVersionLocation,
  parseArtifactTarget,
  rewriteLocations,
  toClientLocation,
  toDatabricksLocation,
  workspaceRoot,
} from "../../../src/artifacts/artifact-locations.js";
import { GatewayError } from "../../../src/errors.js";

describe("artifact locations as clients see them", () => {
  it("swaps Databricks' tracking prefix for MLflow's proxied scheme, and back", () => {
    const run = "dbfs:/databricks/mlflow-tracking/123/abc/artifacts";
    assert.equal(toClientLocation(run), "mlflow-artifacts:/databricks/mlflow-tracking/123/abc/artifacts");
    assert.equal(toDatabricksLocation(toClientLocation(run)), run);
    // Anything else is left alone both ways (a models:/ source, a customer's own dbfs path).
    for (const other of ["models:/m-1", "dbfs:/FileStore/x", "s3://bucket/key", "mlflow-artifacts:/other/x"]) {
      assert.equal(toClientLocation(other), other);
      assert.equal(toDatabricksLocation(other), other);
    }
    assert.equal(modelVersionLocation("main.s.m", "3"), "mlflow-artifacts:/unity-catalog/models/main.s.m/3");
  });

  it("rewrites only location fields, at any depth, and reports when nothing changed", () => {
    const answer = {
      runs: [{ info: { artifact_uri: "dbfs:/databricks/mlflow-tracking/1/r/artifacts", run_name: "dbfs:/databricks/mlflow-tracking/1/r" } }],
      experiment: { artifact_location: "dbfs:/databricks/mlflow-tracking/1" },
      data: { runInfo: { artifactUri: "dbfs:/databricks/mlflow-tracking/1/r/artifacts" } },
      tags: [{ key: "note", value: "dbfs:/databricks/mlflow-tracking/1" }],
    };
    const rewritten = rewriteLocations(answer, toClientLocation) as typeof answer;
    assert.equal(rewritten.runs[0]?.info.artifact_uri, "mlflow-artifacts:/databricks/mlflow-tracking/1/r/artifacts");
    assert.equal(rewritten.runs[0]?.info.run_name, "dbfs:/databricks/mlflow-tracking/1/r", "a run name is not a location");
    assert.equal(rewritten.experiment.artifact_location, "mlflow-artifacts:/databricks/mlflow-tracking/1");
    assert.equal(rewritten.data.runInfo.artifactUri, "mlflow-artifacts:/databricks/mlflow-tracking/1/r/artifacts");
    assert.equal(rewritten.tags[0]?.value, "dbfs:/databricks/mlflow-tracking/1", "a tag's value is the user's own");
    assert.equal(answer.experiment.artifact_location, "dbfs:/databricks/mlflow-tracking/1", "the input is not mutated");
    assert.equal(rewriteLocations({ runs: [{ info: { artifact_uri: "s3://b/k" } }] }, toClientLocation), undefined);
  });
});

describe("trace data locations", () => {
  const dbfs = "dbfs:/databricks/mlflow-tracking/42/tr-0123abcd/artifacts";
  const client = "mlflow-artifacts:/databricks/mlflow-tracking/42/tr-0123abcd/artifacts";

  it("rewrites a trace's location tag in v3 (map) and v2 (list of key/value) answers", () => {
    assert.deepEqual(rewriteLocations({ trace_info: { tags: { "mlflow.artifactLocation": dbfs, other: dbfs } } }, toClientLocation), {
      trace_info: { tags: { "mlflow.artifactLocation": client, other: dbfs } },
    });
    assert.deepEqual(
      rewriteLocations(
        {
          traces: [
            {
              tags: [
                { key: "mlflow.artifactLocation", value: dbfs },
                { key: "x", value: dbfs },
              ],
            },
          ],
        },
        toClientLocation,
      ),
      {
        traces: [
          {
            tags: [
              { key: "mlflow.artifactLocation", value: client },
              { key: "x", value: dbfs },
            ],
          },
        ],
      },
    );
  });

  it("names the trace where a run id would be, as Databricks locates trace data", () => {
    const target = parseArtifactTarget("databricks/mlflow-tracking/42/tr-0123abcd/artifacts/traces.json");
    assert.deepEqual(target, { kind: "trace", experimentId: "42", traceId: "tr-0123abcd", path: "traces.json" });
    assert.equal(databricksRoot(target), dbfs);
  });
});

describe("artifact paths", () => {
  it("names runs, logged models and model versions, with the workspace folders MLflow's Databricks repositories use", () => {
    const run = parseArtifactTarget("databricks/mlflow-tracking/123/abc/artifacts/dir/file.txt");
    assert.deepEqual(run, { kind: "run", experimentId: "123", runId: "abc", path: "dir/file.txt" });
    assert.equal(workspaceRoot(run), "/WorkspaceInternal/Mlflow/Artifacts/123/Runs/abc/artifacts");
    const model = parseArtifactTarget("databricks/mlflow-tracking/123/logged_models/m-1a/artifacts/MLmodel");
    assert.deepEqual(model, { kind: "logged-model", experimentId: "123", modelId: "m-1a", path: "MLmodel" });
    assert.equal(workspaceRoot(model), "/WorkspaceInternal/Mlflow/Artifacts/123/LoggedModels/m-1a/artifacts");
    assert.deepEqual(parseArtifactTarget("unity-catalog/models/main.s.m/2/MLmodel"), {
      kind: "model-version",
      name: "main.s.m",
      version: "2",
      path: "MLmodel",
    });
    assert.deepEqual(parseArtifactTarget("databricks/mlflow-tracking/123/abc/artifacts"), {
      kind: "run",
      experimentId: "123",
      runId: "abc",
      path: "",
    });
  });

  it("refuses traversal, absolute, encoded and foreign paths with PATH_REJECTED", () => {
    const base = "databricks/mlflow-tracking/123/abc/artifacts";
    for (const bad of [
      `${base}/../../def/artifacts/x`,
      `${base}/./x`,
      `${base}//x`,
      `/${base}/x`,
      `${base}/%2e%2e/x`,
      `${base}/a%2Fb`,
      `${base}/a\\b`,
      `${base}/a\u0000b`,
      `${base}/a#b`,
      "C:/x",
      "etc/passwd",
      "databricks/mlflow-tracking/not-a-number/abc/artifacts/x",
      "databricks/mlflow-tracking/123/abc/not-artifacts/x",
      "databricks/mlflow-tracking/123/logged_models/m-1/x",
      "unity-catalog/models/just-a-name/1/x",
      "unity-catalog/models/main.s.m/latest/x",
    ]) {
      assert.throws(
        () => parseArtifactTarget(bad),
        (error: unknown) => error instanceof GatewayError && error.code === "PATH_REJECTED",
        JSON.stringify(bad),
      );
    }
  });
});
