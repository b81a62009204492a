import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Identity } from "../../../src/identity/identity.js";
import { type Caller, dependsOnObject, evaluate, needsReadFilter, type Target } from "../../../src/policy/evaluator.js";
import { parsePolicyDocument, type Permission, type PolicyDocument } from "../../../src/policy/policy-document.js";

const POLICY = `
version: 1
creators_own: true
groups: { cache_seconds: 60, stale_seconds: 300 }
grants:
  - name: contractors-no-delete
    principals: ["domain:contractor.example"]
    deny: MANAGE
  - name: no-secret-project
    principals: ["group:team-a"]
    deny: READ
    experiments: ["/Shared/team-a/secret/**"]
  - name: team-a-edits
    principals: ["group:team-a"]
    allow: EDIT
    experiments: ["/Shared/team-a/**", "id:42"]
    models: ["main.team_a.*"]
  - name: team-b-manages
    principals: ["group:team-b"]
    allow: MANAGE
    experiments: ["/Shared/team-b/*"]
    models: ["main.team_b.*"]
  - name: reviewers-read
    principals: ["group:reviewers", "user:rita@example.com"]
    allow: READ
  - name: admins
    principals: ["group:mlflow-admins"]
    allow: ADMIN
  - name: ci
    principals: ["service-principal:11111111-2222-3333-4444-555555555555"]
    allow: EDIT
    models: ["main.**"]
protected_aliases:
  - name: leads-move-champion
    aliases: [champion]
    models: ["main.*.*"]
    principals: ["group:ml-leads"]
`;

function load(text: string): PolicyDocument {
  const parsed = parsePolicyDocument(text, "test.yaml");
  if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
  return parsed.policy;
}

const policy = load(POLICY);

function person(email: string, groups: string[] | "unknown"): Caller {
  const identity: Identity = { subject: `sub-${email}`, email, userName: email, forwardedUser: undefined, verifiedBy: "headers", scopes: [] };
  return { identity, groups: groups === "unknown" ? { known: false, reason: "SCIM answered 503" } : { known: true, names: new Set(groups) } };
}

const ana = person("ana@example.com", ["team-a"]);
const ben = person("ben@example.com", ["team-b", "ml-leads"]);
const rita = person("rita@example.com", []);
const carl = person("carl@contractor.example", ["team-b"]);
const root = person("root@example.com", ["mlflow-admins"]);
const nobody = person("nobody@example.com", []);
const anaUnknown = person("ana@example.com", "unknown");
const ci: Caller = {
  identity: {
    subject: "11111111-2222-3333-4444-555555555555",
    email: undefined,
    userName: "11111111-2222-3333-4444-555555555555",
    forwardedUser: undefined,
    verifiedBy: "token",
    scopes: [],
  },
  groups: { known: true, names: new Set() },
};

const expA: Target = { kind: "experiment", id: "100", name: "/Shared/team-a/churn", owner: undefined };
const expA42: Target = { kind: "experiment", id: "42", name: "/Users/someone/old", owner: undefined };
const expASecret: Target = { kind: "experiment", id: "101", name: "/Shared/team-a/secret/x/y", owner: undefined };
const expB: Target = { kind: "experiment", id: "200", name: "/Shared/team-b/fraud", owner: undefined };
const expBNested: Target = { kind: "experiment", id: "201", name: "/Shared/team-b/sub/fraud", owner: undefined };
const expOwnedByNobody: Target = { kind: "experiment", id: "300", name: "/Shared/sandbox/nb", owner: "nobody@example.com" };
const missing: Target = { kind: "experiment", id: undefined, name: undefined, owner: undefined };
const modelA: Target = { kind: "model", name: "main.team_a.churn", owner: undefined, alias: undefined };
const modelB: Target = { kind: "model", name: "main.team_b.fraud", owner: undefined, alias: undefined };
const modelBUpper: Target = { kind: "model", name: "MAIN.TEAM_B.FRAUD", owner: undefined, alias: undefined };
const championB: Target = { kind: "model", name: "main.team_b.fraud", owner: undefined, alias: "champion" };
const challengerB: Target = { kind: "model", name: "main.team_b.fraud", owner: undefined, alias: "challenger" };
const global: Target = { kind: "global" };

type Row = [who: string, caller: Caller, need: Permission, target: Target, allow: boolean, rule: string];

const ROWS: Row[] = [
  // Every permission on a team's own experiment, and on the other team's.
  ["a reads own", ana, "READ", expA, true, "team-a-edits"],
  ["a edits own", ana, "EDIT", expA, true, "team-a-edits"],
  ["a cannot manage (delete) own", ana, "MANAGE", expA, false, "no-grant"],
  ["a cannot admin", ana, "ADMIN", global, false, "no-grant"],
  ["a cannot read b", ana, "READ", expB, false, "no-grant"],
  ["a cannot edit b", ana, "EDIT", expB, false, "no-grant"],
  ["b manages own", ben, "MANAGE", expB, true, "team-b-manages"],
  ["b's * stays in one folder", ben, "READ", expBNested, false, "no-grant"],
  ["a's ** crosses folders", ana, "EDIT", { ...expA, name: "/Shared/team-a/x/y/z" }, true, "team-a-edits"],
  ["a by experiment id", ana, "EDIT", expA42, true, "team-a-edits"],
  // Deny wins over a matching allow, and only from its level up.
  ["secret subfolder denied", ana, "READ", expASecret, false, "no-secret-project"],
  ["contractor reads b", carl, "READ", expB, true, "team-b-manages"],
  ["contractor edits b", carl, "EDIT", expB, true, "team-b-manages"],
  ["contractor cannot delete", carl, "MANAGE", expB, false, "contractors-no-delete"],
  // Global grants.
  ["reviewer group reads all", rita, "READ", expB, true, "reviewers-read"],
  ["reviewer reads a model", rita, "READ", modelA, true, "reviewers-read"],
  ["reviewer cannot edit", rita, "EDIT", expA, false, "no-grant"],
  ["admin administers", root, "ADMIN", global, true, "admins"],
  ["admin manages anything", root, "MANAGE", expB, true, "admins"],
  ["no grant: nothing", nobody, "READ", expA, false, "no-grant"],
  ["no grant, global call", nobody, "READ", global, false, "no-grant"],
  // Creator ownership.
  ["creator manages own", nobody, "MANAGE", expOwnedByNobody, true, "creator"],
  ["creator does not administer", nobody, "ADMIN", global, false, "no-grant"],
  ["someone else's object", rita, "EDIT", expOwnedByNobody, false, "no-grant"],
  // Models: globs, case, service principals.
  ["a edits own model", ana, "EDIT", modelA, true, "team-a-edits"],
  ["a cannot read b's model", ana, "READ", modelB, false, "no-grant"],
  ["model names ignore case", ben, "EDIT", modelBUpper, true, "team-b-manages"],
  ["ci edits any main model", ci, "EDIT", modelB, true, "ci"],
  ["ci cannot touch experiments", ci, "EDIT", expA, false, "no-grant"],
  // Protected aliases.
  ["lead moves champion", ben, "EDIT", championB, true, "team-b-manages"],
  ["non-lead cannot move champion", carl, "EDIT", championB, false, "leads-move-champion"],
  ["ci cannot move champion", ci, "EDIT", championB, false, "leads-move-champion"],
  ["other aliases are free", carl, "EDIT", challengerB, true, "team-b-manages"],
  ["admin moves champion", root, "EDIT", championB, true, "admins"],
  // An object that does not exist is covered by no scoped grant.
  ["missing object", ana, "READ", missing, false, "no-grant"],
  ["missing object, global reader", rita, "READ", missing, true, "reviewers-read"],
  // Group membership unknown: changes refused; a group deny counts; user grants still work.
  ["groups unknown: no edits", anaUnknown, "EDIT", expA, false, "groups-unavailable"],
  ["groups unknown: reads need a grant that is not a group's", anaUnknown, "READ", expA, false, "groups-unavailable"],
  ["groups unknown: a group deny counts", anaUnknown, "READ", expASecret, false, "no-secret-project"],
];

describe("policy evaluator", () => {
  for (const [name, caller, need, target, allow, rule] of ROWS) {
    it(`${name}: ${need} -> ${allow ? "allow" : "deny"} (${rule})`, () => {
      const verdict = evaluate(policy, caller, need, target);
      assert.equal(verdict.allow, allow, JSON.stringify(verdict));
      assert.equal(verdict.rule, rule);
      assert.equal(verdict.need, need);
    });
  }

  it("names the grant that matched, and the unknown-groups reason", () => {
    assert.equal(evaluate(policy, ana, "EDIT", expA).grant, "team-a-edits");
    assert.equal(evaluate(policy, carl, "EDIT", championB).grant, "leads-move-champion");
    assert.match(evaluate(policy, anaUnknown, "EDIT", expA).groupsUnavailable ?? "", /SCIM answered 503/);
  });

  it("with groups unknown, a user grant still reads", () => {
    const ritaUnknown: Caller = { ...rita, groups: { known: false, reason: "down" } };
    assert.equal(evaluate(policy, ritaUnknown, "READ", expB).allow, true);
  });

  it("knows when a verdict cannot depend on the object (no lookups needed)", () => {
    const flat = load(`version: 1\ngrants:\n  - {name: all, principals: [all-users], allow: MANAGE}\n`);
    assert.equal(dependsOnObject(flat, nobody, "MANAGE"), false);
    assert.equal(needsReadFilter(flat, nobody, "experiment"), false);
    assert.equal(dependsOnObject(policy, ana, "EDIT"), true);
    assert.equal(needsReadFilter(policy, ana, "experiment"), true);
    assert.equal(needsReadFilter(policy, rita, "experiment"), false, "a global reader sees every experiment");
    assert.equal(needsReadFilter(policy, rita, "model"), false);
    assert.equal(dependsOnObject(policy, root, "ADMIN"), false);
  });

  it("a default permission covers callers no grant names, never ADMIN", () => {
    const open = load(`version: 1\ndefault: READ\ngrants:\n  - {name: x, principals: ["user:x@example.com"], allow: EDIT}\n`);
    assert.deepEqual(
      [evaluate(open, nobody, "READ", expA).rule, evaluate(open, nobody, "EDIT", expA).allow, evaluate(open, nobody, "ADMIN", global).allow],
      ["default", false, false],
    );
  });
});

describe("policy file problems are all reported, each with where and what", () => {
  const cases: Array<[string, string, RegExp[]]> = [
    ["not YAML", "version: 1\ngrants: [\n", [/line \d+: not valid YAML/]],
    ["not a mapping", "- 1\n- 2\n", [/file: must be a YAML mapping/]],
    ["duplicate key", "version: 1\nversion: 1\ngrants: []\n", [/not valid YAML: Map keys must be unique/]],
    [
      "many at once",
      `version: 2
colour: blue
default: MANAGE
creators_own: "yes"
groups: { cache_seconds: 0, stale_seconds: 5, extra: 1 }
grants:
  - name: "bad name!"
    principals: ["alice@example.com", "group:", "domain:nope", 7]
    allow: WRITE
  - name: both
    principals: [all-users]
    allow: READ
    deny: READ
  - name: scoped-admin
    principals: [all-users]
    allow: ADMIN
    experiments: ["", "id:abc", 12]
  - name: dup
    principals: [all-users]
    allow: READ
  - name: dup
    principals: []
    allow: READ
    models: []
  - name: none
    principals: [all-users]
  - 5
protected_aliases:
  - name: g
    aliases: []
    principals: [everyone]
`,
      [
        /^version: must be 1/,
        /^colour: unknown setting/,
        /^default: "MANAGE" is not one of READ, EDIT/,
        /^creators_own: must be true or false/,
        /^groups\.extra: unknown setting/,
        /^groups\.cache_seconds: must be a whole number of seconds from 1/,
        /^grants\[0\]\.name: must be a short name/,
        /^grants\[0\]\.principals\[0\]: "alice@example.com" is not a principal; write user:/,
        /^grants\[0\]\.principals\[1\]: "group:" is not a principal/,
        /^grants\[0\]\.principals\[2\]: "domain:nope" is not a principal/,
        /^grants\[0\]\.principals\[3\]: 7 is not a string/,
        /^grants\[0\]\.allow: "WRITE" is not one of READ, EDIT, MANAGE, ADMIN/,
        /^grants\[1\]: has both allow and deny/,
        /^grants\[2\]\.experiments\[0\]: is empty: write an experiment path/,
        /^grants\[2\]\.experiments\[1\]: "id:abc": an experiment id is a number/,
        /^grants\[2\]: ADMIN is global/,
        /^grants\[4\]\.principals: must be a non-empty list/,
        /^grants\[4\]\.models: must be a non-empty list/,
        /^grants\[5\]: needs allow: or deny:/,
        /^grants\[6\]: must be a mapping/,
        /^protected_aliases\[0\]\.aliases: must be a non-empty list/,
        /^protected_aliases\[0\]\.principals\[0\]: "everyone" is not a principal/,
      ],
    ],
    ["no grants", "version: 1\ngrants: []\n", [/^grants: must be a list with at least one grant/]],
    [
      "the rest of the shapes",
      `version: 1
groups: 5
grants:
  - { name: a, principals: [all-users], allow: READ, colour: red, experiments: "not-a-list", models: [1] }
  - { name: b, principals: [all-users], allow: READ, experiments: [{ id: 1 }] }
protected_aliases:
  - 7
  - { name: g, aliases: [champion], principals: [all-users], extra: 1, models: [] }
`,
      [
        /^groups: must be a mapping with cache_seconds and stale_seconds/,
        /^grants\[0\]\.colour: unknown field; expected one of name, principals, allow, deny, experiments, models/,
        /^grants\[0\]\.experiments: must be a non-empty list of "id:<experiment id>"/,
        /^grants\[0\]\.models: must be a non-empty list of names or patterns/,
        /^grants\[1\]\.experiments\[0\]: \{"id":1\} is not a string/,
        /^protected_aliases\[0\]: must be a mapping with name, aliases, models and principals/,
        /^protected_aliases\[1\]\.extra: unknown field; expected one of name, aliases, models, principals/,
        /^protected_aliases\[1\]\.models: must be a non-empty list/,
      ],
    ],
    [
      "protected_aliases not a list",
      "version: 1\ngrants:\n  - {name: a, principals: [all-users], allow: READ}\nprotected_aliases: {name: x}\n",
      [/^protected_aliases: must be a list/],
    ],
    [
      "stale shorter than cache",
      "version: 1\ngroups: {cache_seconds: 600, stale_seconds: 60}\ngrants:\n  - {name: a, principals: [all-users], allow: READ}\n",
      [/^groups\.stale_seconds: must be at least cache_seconds \(600\)/],
    ],
    [
      "duplicate names",
      "version: 1\ngrants:\n  - {name: a, principals: [all-users], allow: READ}\n  - {name: a, principals: [all-users], allow: EDIT}\n",
      [/^grants\[1\]\.name: "a" is used twice/],
    ],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const parsed = parsePolicyDocument(text, "p.yaml");
      assert.ok("problems" in parsed, "the policy must be refused");
      const lines = parsed.problems.map((p) => `${p.at}: ${p.message}`);
      for (const pattern of expected)
        assert.ok(
          lines.some((line) => pattern.test(line)),
          `expected ${pattern} in:\n${lines.join("\n")}`,
        );
    });
  }

  it("accepts the shipped example", async () => {
    const { readFile } = await import("node:fs/promises");
    const text = await readFile(new URL("../../../policy.example.yaml", import.meta.url), "utf8");
    const parsed = parsePolicyDocument(text, "policy.example.yaml");
    assert.ok("policy" in parsed, JSON.stringify("problems" in parsed ? parsed.problems : []));
    assert.ok(parsed.policy.grants.length >= 3);
  });
});
