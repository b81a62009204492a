import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { filterModelVersions, graphqlObjects } from "../../../src/policy/graphql-access.js";

describe("GraphQL access classification", () => {
  it("reads the ids of the UI's queries from variables", () => {
    const query = `query MlflowGetRun($data: MlflowGetRunInput!) { mlflowGetRun(input: $data) { run { info { runUuid } } } }`;
    assert.deepEqual(graphqlObjects(query, { data: { runId: "r1" } }), [{ kind: "run", id: "r1" }]);
  });

  it("checks both run_id and run_uuid, so one cannot hide the other", () => {
    assert.deepEqual(graphqlObjects(`{ mlflowGetRun(input: {runId: "a", runUuid: "b"}) { run { info { runUuid } } } }`, {}), [
      { kind: "run", id: "a" },
      { kind: "run", id: "b" },
    ]);
  });

  it("decides every top-level field, through aliases and fragments", () => {
    const query = `
      query Q { x: mlflowGetExperiment(input: {experimentId: "1"}) { experiment { name } } ...F ... on Query { mlflowListArtifacts(input: {runId: "r9"}) { root } } }
      fragment F on Query { mlflowSearchRuns(input: {experimentIds: ["2", "3"]}) { runs { info { runUuid } } } }`;
    assert.deepEqual(graphqlObjects(query, {}), [
      { kind: "experiment", id: "1" },
      { kind: "experiment", id: "2" },
      { kind: "experiment", id: "3" },
      { kind: "run", id: "r9" },
    ]);
  });

  it("needs a global read for what it cannot narrow", () => {
    const kinds = (q: string): string[] => graphqlObjects(q, {}).map((o) => (o.kind === "global" ? `global: ${o.why}` : o.kind));
    assert.deepEqual(kinds(`{ mlflowSearchModelVersions(input: {filter: ""}) { modelVersions { name } } }`), ["model-versions", "model-versions"]);
    assert.deepEqual(kinds(`{ mlflowGetRun(input: {runId: "r"}) { run { modelVersions { name } } } }`), ["run", "model-versions"]);
    assert.match(kinds(`{ mlflowSearchRuns(input: {}) { runs { info { runUuid } } } }`).join(), /names no experiment/);
    assert.match(kinds(`{ somethingNew { id } }`).join(), /not one the gateway knows/);
    assert.deepEqual(kinds(`{ __typename test(inputString: "x") { output } }`), []);
  });

  it("refuses what does not parse or is oversized, naming it", () => {
    assert.throws(() => graphqlObjects("{ mlflowGetRun(", {}), /The GraphQL query does not parse/);
    assert.throws(() => graphqlObjects(`{ ${"a ".repeat(40_000)} }`, {}), /longer than/);
  });

  it("filters every modelVersions list of an answer to the models the caller may read", () => {
    const answer = {
      data: {
        mlflowGetRun: {
          run: {
            info: { runUuid: "r" },
            modelVersions: [{ name: "main.team_a.m", version: "1" }, { name: "main.team_b.m", version: "2" }, { version: "3" }],
          },
        },
        other: { modelVersions: [{ name: "main.team_b.x" }] },
      },
    };
    const filtered = filterModelVersions(answer, (name) => name.startsWith("main.team_a.")) as typeof answer;
    assert.deepEqual(filtered.data.mlflowGetRun.run.modelVersions, [{ name: "main.team_a.m", version: "1" }]);
    assert.deepEqual(filtered.data.other.modelVersions, []);
    assert.deepEqual(filtered.data.mlflowGetRun.run.info, { runUuid: "r" });
  });
});
