import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Identity } from "../../../src/identity/identity.js";
import { artifactOwner, Authorizer, type CallFacts } from "../../../src/policy/authorizer.js";
import { GroupDirectory } from "../../../src/policy/group-directory.js";
import { ObjectLookup } from "../../../src/policy/object-lookup.js";
import { parsePolicyDocument } from "../../../src/policy/policy-document.js";

// A stand-in for the child's read API with two experiments and one run in each: what
// ObjectLookup asks MLflow (runs/get, experiments/get), answered the way MLflow does.
const EXPERIMENTS: Record<string, string> = { "1": "/Shared/team-a/x", "2": "/Shared/team-b/y" };
const RUNS: Record<string, string> = { ra: "1", rb: "2" };
let server: Server;
let childUrl = "";
const asked: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://child");
    asked.push(`${url.pathname}?${url.searchParams.toString()}`);
    const send = (status: number, body: unknown): void =>
      void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname === "/api/2.0/mlflow/runs/get") {
      const experiment = RUNS[url.searchParams.get("run_id") ?? ""];
      if (experiment === undefined) send(404, { error_code: "RESOURCE_DOES_NOT_EXIST" });
      else send(200, { run: { info: { experiment_id: experiment } } });
      return;
    }
    if (url.pathname === "/api/2.0/mlflow/experiments/get") {
      const id = url.searchParams.get("experiment_id") ?? "";
      const name = EXPERIMENTS[id];
      if (name === undefined) send(404, { error_code: "RESOURCE_DOES_NOT_EXIST" });
      else send(200, { experiment: { experiment_id: id, name, tags: [] } });
      return;
    }
    send(404, { error_code: "ENDPOINT_NOT_FOUND" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  childUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
});
after(() => server.close());

const parsed = parsePolicyDocument(
  `version: 1\ngrants:\n  - { name: a, principals: ["user:ana@example.com"], allow: EDIT, experiments: ["/Shared/team-a/**"] }\n`,
  "t",
);
if ("problems" in parsed) throw new Error("bad test policy");
const policy = parsed.policy;
const ana: Identity = {
  subject: "ana",
  email: "ana@example.com",
  userName: "ana@example.com",
  forwardedUser: undefined,
  verifiedBy: "headers",
  scopes: [],
};

function authorizer(): Authorizer {
  return new Authorizer({
    policy: { current: () => policy },
    groups: new GroupDirectory(undefined, policy.groups),
    lookup: new ObjectLookup(() => childUrl),
    experimentName: (n) => n,
  });
}

function call(method: string, operation: string, query: string, body: Record<string, unknown> = {}, params: Record<string, string> = {}): CallFacts {
  return { identity: ana, method, operation, params, query: new URLSearchParams(query), headers: {}, body: () => Promise.resolve(body) };
}

describe("authorizer: objects found where MLflow reads them", () => {
  it("decides a run by the experiment MLflow says it is in", async () => {
    assert.equal((await authorizer().authorize(call("GET", "GetRun", "run_id=ra"))).verdict.allow, true);
    const refused = await authorizer().authorize(call("GET", "GetRun", "run_id=rb"));
    assert.deepEqual([refused.verdict.allow, refused.verdict.rule, refused.object], [false, "no-grant", "run rb"]);
  });

  it("a repeated parameter must pass for every value", async () => {
    const verdict = (await authorizer().authorize(call("GET", "GetRun", "run_id=ra&run_id=rb"))).verdict;
    assert.equal(verdict.allow, false);
  });

  it("reads a POST's ids from its JSON body, never from a query MLflow ignores", async () => {
    const smuggled = await authorizer().authorize(call("POST", "LogParam", "run_id=ra", { run_id: "rb", key: "k", value: "v" }));
    assert.equal(smuggled.verdict.allow, false, "decided on the body's run, which MLflow acts on");
  });

  it("a run that does not exist is refused like one the caller may not read", async () => {
    const ghost = await authorizer().authorize(call("GET", "GetRun", "run_id=nope"));
    assert.deepEqual([ghost.verdict.allow, ghost.verdict.rule], [false, "no-grant"]);
  });

  it("decides an artifact path by the experiment folder it is in", async () => {
    const mine = await authorizer().authorize(call("GET", "DownloadArtifact", "", {}, { artifact_path: "1/ra/artifacts/x.txt" }));
    const theirs = await authorizer().authorize(
      call("GET", "DownloadArtifact", "", {}, { artifact_path: "databricks/mlflow-tracking/2/rb/artifacts/x.txt" }),
    );
    assert.deepEqual([mine.verdict.allow, theirs.verdict.allow], [true, false]);
    assert.deepEqual(artifactOwner("unity-catalog/models/main.a.m/3/MLmodel"), { kind: "model", name: "main.a.m" });
    assert.equal(artifactOwner("1/../2/x"), undefined, "a path that climbs names no folder");
  });

  it("caches lookups: a second decision on the same run asks MLflow nothing", async () => {
    const shared = authorizer();
    await shared.authorize(call("GET", "GetRun", "run_id=ra"));
    const before = asked.length;
    await shared.authorize(call("GET", "GetRun", "run_id=ra"));
    assert.equal(asked.length, before);
  });

  it("an operation without a rule is refused for everyone", async () => {
    const verdict = (await authorizer().authorize(call("GET", "SomethingNew", ""))).verdict;
    assert.deepEqual([verdict.allow, verdict.rule], [false, "unreviewed-operation"]);
  });
});
