import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AuditQuery, auditQueryMatcher, matchesAuditQuery, parseAuditQuery } from "../../../src/audit/audit-query.js";
import type { AuditDigestRecord, AuditEventRecord } from "../../../src/audit/audit-record.js";
import { auditEvent, type EventSpec } from "../../support/signed-audit-log.js";

const NOW = new Date("2026-11-28T12:00:00.000Z");

function record(spec: EventSpec): AuditEventRecord {
  return { ...auditEvent(spec), type: "event", stream: "gw-1", seq: 1, prev_hash: "0".repeat(64), hash: "1".repeat(64) };
}

function parse(params: Record<string, string>): { query: AuditQuery; problems: string[] } {
  return parseAuditQuery((name) => params[name], NOW);
}

const RECORDS = {
  aliceDelete: record({ action: "DeleteRun", objects: { run_id: "r1" }, event_time: "2026-11-20T10:00:00.000Z" }),
  bobDenied: record({
    action: "DeleteRun",
    objects: { run_id: "r2" },
    event_time: "2026-11-27T10:00:00.000Z",
    principal: { email: "bob@example.com", user_name: "bob@example.com", subject: "bob@example.com" },
    outcome: { status: 403, error_code: "PERMISSION_DENIED", decision: "deny", decided_by: "read-only", gateway_error: "POLICY_DENIED" },
  }),
  aliceCreate: record({ action: "CreateRun", objects: { experiment_id: "7" }, event_time: "2026-11-27T11:00:00.000Z" }),
  missingVersion: record({
    action: "GetModelVersion",
    objects: { model_name: "main.ml.churn", version: "7" },
    event_time: "2026-11-27T12:00:00.000Z",
    outcome: { status: 404, error_code: "RESOURCE_DOES_NOT_EXIST" },
  }),
  servicePrincipal: record({
    action: "DownloadArtifact",
    objects: { artifact_path: "1/r1/artifacts/model/MLmodel" },
    event_time: "2026-11-28T08:00:00.000Z",
    principal: { email: null, user_name: "carol", subject: "sp-123" },
    outcome: { status: 502, error_code: "INTERNAL_ERROR" },
  }),
};

function matching(query: AuditQuery): string[] {
  const matches = auditQueryMatcher(query);
  return Object.entries(RECORDS)
    .filter(([, candidate]) => matches(candidate))
    .map(([name]) => name);
}

describe("parseAuditQuery", () => {
  it("reads every parameter, relative times back from now", () => {
    const { query, problems } = parse({
      person: " alice@example.com ",
      action: "DeleteRun,DeleteExperiment",
      object: "run_id=r1",
      outcome: "deny,5xx",
      since: "7d",
      until: "24h",
      limit: "50",
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(query, {
      person: "alice@example.com",
      action: "DeleteRun,DeleteExperiment",
      object: "run_id=r1",
      outcome: "deny,5xx",
      since: new Date("2026-11-21T12:00:00.000Z"),
      until: new Date("2026-11-27T12:00:00.000Z"),
      limit: 50,
    });
  });

  it("reads ISO 8601 dates and times, as UTC when they carry no zone", () => {
    const at = (since: string): string | undefined => parse({ since }).query.since?.toISOString();
    assert.equal(at("2026-11-28"), "2026-11-28T00:00:00.000Z");
    assert.equal(at("2026-11-28T09:30"), "2026-11-28T09:30:00.000Z");
    assert.equal(at("2026-11-28T09:30:00+01:00"), "2026-11-28T08:30:00.000Z");
    assert.equal(at("2026-11-28 09:30:00-0200"), "2026-11-28T11:30:00.000Z");
    assert.equal(at("2026-11-28T09:30:00.123456Z"), "2026-11-28T09:30:00.123Z");
    assert.equal(at("30m"), "2026-11-28T11:30:00.000Z");
    assert.equal(at("2w"), "2026-11-14T12:00:00.000Z");
  });

  it("ignores blank parameters", () => {
    assert.deepEqual(parse({ person: "  ", limit: "" }), { query: {}, problems: [] });
  });

  it("reports every bad parameter at once, naming it and what it expects", () => {
    const { problems } = parse({ since: "yesterday", until: "2026-02-30", limit: "0", outcome: "deny,denied", object: "run_id=", action: " , " });
    assert.equal(problems.length, 6, problems.join("\n"));
    assert.match(
      problems.find((p) => p.startsWith("since:")) ?? "",
      /"yesterday" is not a time; use ISO 8601 .* or a span back from now \(30m, 24h, 7d, 2w\)/,
    );
    assert.match(problems.find((p) => p.startsWith("until:")) ?? "", /"2026-02-30" is not a time/);
    assert.match(problems.find((p) => p.startsWith("limit:")) ?? "", /"0" is not a whole number from 1 to/);
    assert.match(
      problems.find((p) => p.startsWith("outcome:")) ?? "",
      /"denied" is not allow, deny, undecided, an HTTP status .* error code in capitals/,
    );
    assert.match(problems.find((p) => p.startsWith("object:")) ?? "", /names a field but no value/);
    assert.match(problems.find((p) => p.startsWith("action:")) ?? "", /names no operation/);
  });

  it("refuses a window that ends before it starts", () => {
    const { problems } = parse({ since: "2026-11-28", until: "2026-11-27" });
    assert.deepEqual(problems, [
      "until: 2026-11-27T00:00:00.000Z is not after since (2026-11-28T00:00:00.000Z); since is inclusive, until exclusive.",
    ]);
  });
});

describe("matchesAuditQuery", () => {
  it("matches a person by email, user name or subject in any case, and by the name before @", () => {
    assert.deepEqual(matching({ person: "ALICE@example.com" }), ["aliceDelete", "aliceCreate", "missingVersion"]);
    assert.deepEqual(matching({ person: "alice" }), ["aliceDelete", "aliceCreate", "missingVersion"]);
    assert.deepEqual(matching({ person: "ali" }), [], "no partial names");
    assert.deepEqual(matching({ person: "sp-123" }), ["servicePrincipal"]);
    assert.deepEqual(matching({ person: "Carol" }), ["servicePrincipal"]);
  });

  it("matches actions exactly in any case, any of a comma list", () => {
    assert.deepEqual(matching({ action: "deleterun" }), ["aliceDelete", "bobDenied"]);
    assert.deepEqual(matching({ action: "CreateRun, GETMODELVERSION" }), ["aliceCreate", "missingVersion"]);
    assert.deepEqual(matching({ action: "Delete" }), []);
  });

  it("matches any named object exactly, one field with field=value, and artifact folders by prefix", () => {
    assert.deepEqual(matching({ object: "7" }), ["aliceCreate", "missingVersion"]);
    assert.deepEqual(matching({ object: "experiment_id=7" }), ["aliceCreate"]);
    assert.deepEqual(matching({ object: "version=7" }), ["missingVersion"]);
    assert.deepEqual(matching({ object: "main.ml.churn" }), ["missingVersion"]);
    assert.deepEqual(matching({ object: "1/r1/artifacts/model" }), ["servicePrincipal"]);
    assert.deepEqual(matching({ object: "1/r1/artifacts/model/" }), ["servicePrincipal"]);
    assert.deepEqual(matching({ object: "artifact_path=1/r1" }), ["servicePrincipal"]);
    assert.deepEqual(matching({ object: "1/r1/art" }), [], "a prefix stops at folder boundaries");
    assert.deepEqual(matching({ object: "r" }), []);
  });

  it("tells an experiment from a model of the same name with experiment_name= and model_name=", () => {
    const experiment = record({ action: "CreateExperiment", objects: { experiment_name: "main.ml.churn" } });
    const model = record({ action: "CreateRegisteredModel", objects: { model_name: "main.ml.churn" } });
    const found = (object: string): string[] => [experiment, model].filter((r) => matchesAuditQuery(r, { object })).map((r) => r.action);
    assert.deepEqual(found("experiment_name=main.ml.churn"), ["CreateExperiment"]);
    assert.deepEqual(found("model_name=main.ml.churn"), ["CreateRegisteredModel"]);
    assert.deepEqual(found("main.ml.churn"), ["CreateExperiment", "CreateRegisteredModel"], "any field, without one named");
    assert.equal(parse({ object: "experiment_name=" }).problems.length, 1, "a known field without a value");
  });

  it("matches outcomes by decision, status, status class or MLflow error code", () => {
    assert.deepEqual(matching({ outcome: "deny" }), ["bobDenied"]);
    assert.deepEqual(matching({ outcome: "ALLOW" }), ["aliceDelete", "aliceCreate", "missingVersion", "servicePrincipal"]);
    assert.deepEqual(matching({ outcome: "403" }), ["bobDenied"]);
    assert.deepEqual(matching({ outcome: "4xx" }), ["bobDenied", "missingVersion"]);
    assert.deepEqual(matching({ outcome: "RESOURCE_DOES_NOT_EXIST,5xx" }), ["missingVersion", "servicePrincipal"]);
    assert.deepEqual(matching({ outcome: "POLICY_DENIED" }), ["bobDenied"], "the gateway's own error code");
    assert.deepEqual(matching({ outcome: "undecided" }), []);
  });

  it("keeps events from since (inclusive) until (exclusive)", () => {
    assert.deepEqual(matching({ since: new Date("2026-11-27T00:00:00Z"), until: new Date("2026-11-28T00:00:00Z") }), [
      "bobDenied",
      "aliceCreate",
      "missingVersion",
    ]);
    assert.deepEqual(matching({ since: new Date("2026-11-28T08:00:00Z") }), ["servicePrincipal"]);
    assert.deepEqual(matching({ until: new Date("2026-11-27T10:00:00Z") }), ["aliceDelete"]);
  });

  it("requires every given criterion", () => {
    assert.deepEqual(matching({ action: "DeleteRun", outcome: "allow" }), ["aliceDelete"]);
    assert.deepEqual(matching({ person: "bob", outcome: "deny", since: new Date("2026-11-27T00:00:00Z") }), ["bobDenied"]);
  });

  it("never matches a digest, and survives records with missing fields", () => {
    const digest: AuditDigestRecord = {
      type: "digest",
      schema_version: "1",
      event_time: "2026-11-28T08:00:00.000Z",
      covers_seq: 1,
      covers_hash: "0".repeat(64),
      signature: "0".repeat(64),
      reason: "interval",
      stream: "gw-1",
      seq: 2,
      prev_hash: "0".repeat(64),
      hash: "2".repeat(64),
    };
    assert.equal(matchesAuditQuery(digest, {}), false);
    const broken = { type: "event", action: "DeleteRun" } as unknown as AuditEventRecord;
    assert.equal(matchesAuditQuery(broken, { person: "alice", object: "r1", outcome: "deny", since: new Date(0) }), false);
    assert.equal(matchesAuditQuery(broken, { action: "DeleteRun" }), true);
  });
});
