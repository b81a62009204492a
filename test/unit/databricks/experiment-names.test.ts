import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { experimentRootProblem, parentFolder, resolveExperimentName } from "../../../src/databricks/experiment-names.js";
import { GatewayError } from "../../../src/errors.js";

const ROOT = "/Shared/mlflow";

describe("resolveExperimentName", () => {
  it("files a plain name under the root folder", () => {
    assert.deepEqual(resolveExperimentName("churn-model", ROOT, "name"), { path: "/Shared/mlflow/churn-model", mapped: true });
    assert.deepEqual(resolveExperimentName("team-a/churn", ROOT, "name"), { path: "/Shared/mlflow/team-a/churn", mapped: true });
  });

  it("leaves a workspace path alone", () => {
    assert.deepEqual(resolveExperimentName("/Users/alice@example.com/x", ROOT, "name"), { path: "/Users/alice@example.com/x", mapped: false });
  });

  for (const bad of ["", "   ", "a//b", "../escape", "a/./b", "tab\there", "back\\slash", 42, undefined]) {
    it(`refuses ${JSON.stringify(bad)} with a 400 naming the field`, () => {
      assert.throws(
        () => resolveExperimentName(bad, ROOT, "new_name"),
        (error: unknown) => error instanceof GatewayError && error.code === "PARAMETER_REJECTED" && /new_name/.test(error.message),
      );
    });
  }

  it("refuses a name that would make the path longer than Databricks allows", () => {
    assert.throws(() => resolveExperimentName("x".repeat(500), ROOT, "name"), /too long/);
  });
});

describe("experimentRootProblem", () => {
  it("accepts workspace folders", () => {
    for (const root of ["/Shared/mlflow", "/Shared/team-a/mlflow", "/Users/sp-app-id/experiments"])
      assert.equal(experimentRootProblem(root), undefined);
  });
  it("names what is wrong with a bad root", () => {
    assert.match(experimentRootProblem("Shared/mlflow") ?? "", /absolute/);
    assert.match(experimentRootProblem("/") ?? "", /clean/);
    assert.match(experimentRootProblem("/Shared//x") ?? "", /clean/);
    assert.match(experimentRootProblem("/Users") ?? "", /protected/);
  });
});

describe("parentFolder", () => {
  it("is the folder an experiment is created in", () => {
    assert.equal(parentFolder("/Shared/mlflow/churn"), "/Shared/mlflow");
    assert.equal(parentFolder("/top"), "/");
  });
});
