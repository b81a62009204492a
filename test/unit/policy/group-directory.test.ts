import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Identity } from "../../../src/identity/identity.js";
import { GroupDirectory, type GroupSource } from "../../../src/policy/group-directory.js";

const alice: Identity = {
  subject: "1@2",
  email: "alice@example.com",
  userName: "alice@example.com",
  forwardedUser: undefined,
  verifiedBy: "headers",
  scopes: [],
};

function directory() {
  let now = 0;
  let answer: string[] | Error = ["team-a"];
  const asked: string[] = [];
  const source: GroupSource = (principal) => {
    asked.push(principal.kind === "user" ? principal.userName : principal.applicationId);
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  const groups = new GroupDirectory(source, { ttlMs: 60_000, staleMs: 300_000 }, () => now);
  return {
    groups,
    asked,
    advance: (ms: number) => (now += ms),
    answer: (next: string[] | Error) => (answer = next),
  };
}

const names = async (d: ReturnType<typeof directory>) => {
  const result = await d.groups.groupsOf(alice);
  return result.known ? [...result.names] : `unknown: ${result.reason}`;
};

describe("group directory", () => {
  it("asks SCIM once per lifetime, and concurrent first calls share one lookup", async () => {
    const d = directory();
    await Promise.all([names(d), names(d), names(d)]);
    assert.deepEqual(await names(d), ["team-a"]);
    assert.deepEqual(d.asked, ["alice@example.com"]);
  });

  it("refreshes in the background near the end of the lifetime; a change shows after it", async () => {
    const d = directory();
    await names(d);
    d.answer(["team-b"]);
    d.advance(50_000);
    assert.deepEqual(await names(d), ["team-a"], "still the cached answer, refresh started");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await names(d), ["team-b"]);
    assert.equal(d.asked.length, 2);
  });

  it("keeps a stale answer while SCIM fails, then says membership is unknown", async () => {
    const d = directory();
    await names(d);
    d.answer(new Error("SCIM answered 503"));
    d.advance(120_000);
    assert.deepEqual(await names(d), ["team-a"], "within the stale bound");
    d.advance(200_000);
    assert.match(String(await names(d)), /unknown: .*SCIM answered 503/);
    d.answer(["team-c"]);
    assert.deepEqual(await names(d), ["team-c"], "recovers on the next call");
  });

  it("without a source (local mode) nobody is in a group, and nothing is asked", async () => {
    const local = new GroupDirectory(undefined, { ttlMs: 1, staleMs: 1 });
    assert.deepEqual(await local.groupsOf(alice), { known: true, names: new Set() });
  });
});
