/**
 * The policy stage's own cost, per decision, in-process: the authorizer the gateway runs,
 * with the built-in policy (no file) and with a realistic team policy (50 grants over 10
 * groups, scoped by experiment path, experiment id and model name), on the child of the
 * main stack. Object facts (a run's experiment, an experiment's name) and group membership
 * are cached after the first call, as in the gateway; the first decision on an object not
 * yet seen pays one loopback lookup, reported on its own.
 */
import type { Identity } from "../../../src/identity/identity.js";
import { type CallFacts, Authorizer } from "../../../src/policy/authorizer.js";
import { builtInPolicy } from "../../../src/policy/built-in-policy.js";
import { GroupDirectory } from "../../../src/policy/group-directory.js";
import { ObjectLookup } from "../../../src/policy/object-lookup.js";
import { parsePolicyDocument, type PolicyDocument } from "../../../src/policy/policy-document.js";
import type { Fixtures } from "../mlflow-fixtures.js";

export interface PolicyStageRow {
  operation: string;
  builtInMicros: number;
  realisticMicros: number;
}

export interface PolicyStageResult {
  grants: number;
  groups: number;
  rows: PolicyStageRow[];
  /** The first decision on a run nobody asked about yet (one lookup in the child). */
  firstLookupMs: number;
}

const TEAMS = 10;
const USER = "bench-user@example.com";

/** 50 grants: per team an EDIT on its folder and models and a READ for its reviewers; ten people; ten denies; the bench's experiment last. */
export function realisticPolicy(readExperimentId: string): PolicyDocument {
  const lines = ["version: 1", "creators_own: true", "grants:"];
  for (let t = 0; t < TEAMS; t += 1) {
    lines.push(
      `  - { name: team-${t}, principals: ["group:team-${t}"], allow: EDIT, experiments: ["/Shared/team-${t}/**"], models: ["main.team_${t}.*"] }`,
    );
    lines.push(`  - { name: team-${t}-reviewers, principals: ["group:reviewers-${t}"], allow: READ, experiments: ["/Shared/team-${t}/**"] }`);
    lines.push(`  - { name: person-${t}, principals: ["user:person-${t}@example.com"], allow: READ, models: ["main.team_${t}.*"] }`);
    lines.push(`  - { name: no-delete-${t}, principals: ["domain:contractor-${t}.example.com"], deny: MANAGE }`);
  }
  for (let t = 0; t < TEAMS - 1; t += 1)
    lines.push(`  - { name: extra-${t}, principals: ["group:team-${t}"], allow: READ, experiments: ["id:${1000 + t}"] }`);
  lines.push(`  - { name: bench, principals: ["group:team-7"], allow: MANAGE, experiments: ["bench-*", "id:${readExperimentId}"] }`);
  const parsed = parsePolicyDocument(lines.join("\n"), "bench");
  if ("problems" in parsed) throw new Error(`bench policy: ${JSON.stringify(parsed.problems)}`);
  return parsed.policy;
}

function authorizer(policy: PolicyDocument, childUrl: string): Authorizer {
  // The bench user is in 3 of the 10 groups; membership comes from a cached source, as after the first SCIM call.
  const groups = new GroupDirectory(() => Promise.resolve(["team-7", "reviewers-2", "everyone"]), policy.groups);
  return new Authorizer({ policy: { current: () => policy }, groups, lookup: new ObjectLookup(() => childUrl), experimentName: (n) => n });
}

export async function runPolicyStage(childUrl: string, fixtures: Fixtures, iterations: number): Promise<PolicyStageResult> {
  const identity: Identity = { subject: USER, email: USER, userName: USER, forwardedUser: undefined, verifiedBy: "token", scopes: [] };
  const runId = Object.values(fixtures.writeRunIds)[0]?.[0] ?? "";
  const calls: Array<[string, CallFacts]> = [
    ["GetRun", facts(identity, "GET", "GetRun", new URLSearchParams({ run_id: runId }), {})],
    ["LogBatch", facts(identity, "POST", "LogBatch", new URLSearchParams(), { run_id: runId, metrics: [] })],
    ["SearchRuns", facts(identity, "POST", "SearchRuns", new URLSearchParams(), { experiment_ids: [fixtures.readExperimentId] })],
    ["SearchExperiments", facts(identity, "GET", "SearchExperiments", new URLSearchParams(), {})],
  ];
  const builtIn = authorizer(builtInPolicy({ admins: [], defaultAccess: "write", readers: [], writers: [] }), childUrl);
  const policy = realisticPolicy(fixtures.readExperimentId);
  const realistic = authorizer(policy, childUrl);

  const started = process.hrtime.bigint();
  const first = await realistic.authorize(calls[0]?.[1] as CallFacts);
  const firstLookupMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (!first.verdict.allow) throw new Error(`the bench policy refused GetRun: ${first.verdict.rule}`);

  const rows: PolicyStageRow[] = [];
  for (const [operation, call] of calls) {
    rows.push({ operation, builtInMicros: await perCall(builtIn, call, iterations), realisticMicros: await perCall(realistic, call, iterations) });
  }
  return { grants: policy.grants.length, groups: TEAMS, rows, firstLookupMs };
}

function facts(identity: Identity, method: string, operation: string, query: URLSearchParams, body: Record<string, unknown>): CallFacts {
  return { identity, method, operation, params: {}, query, headers: {}, body: () => Promise.resolve(body) };
}

async function perCall(authorizer: Authorizer, call: CallFacts, iterations: number): Promise<number> {
  for (let i = 0; i < Math.min(1000, iterations); i += 1) await authorizer.authorize(call);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) {
    const result = await authorizer.authorize(call);
    if (!result.verdict.allow) throw new Error(`${call.operation} refused: ${result.verdict.rule}`);
  }
  return Number(process.hrtime.bigint() - started) / 1e3 / iterations;
}
