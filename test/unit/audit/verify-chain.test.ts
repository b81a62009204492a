import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalJson, HashChain } from "../../../src/audit/hash-chain.js";
import { ChainVerifier, MAX_KEPT_PROBLEMS } from "../../../src/audit/verify-chain.js";
import { AuditLogWriter, auditEvent, TEST_AUDIT_KEY } from "../../support/signed-audit-log.js";

const KEY = Buffer.from(TEST_AUDIT_KEY, "utf8");

/** `key: null` checks without a key. */
function verify(lines: readonly string[], key: Buffer | null = KEY, source = "a.jsonl"): ReturnType<ChainVerifier["finish"]> {
  const verifier = new ChainVerifier(key ?? undefined);
  lines.forEach((text, index) => verifier.check(text, { source, line: index + 1 }));
  return verifier.finish();
}

function summary(lines: readonly string[]): string[] {
  return verify(lines).problems.map((p) => `${p.kind} ${p.source}:${p.line} seq ${p.seq}`);
}

describe("ChainVerifier", () => {
  it("names the file and line of each problem, and counts events, digests and streams", () => {
    const w = new AuditLogWriter("gw-1");
    const lines = [w.event(), w.event(), w.digest("interval"), w.event()];
    lines[1] = (lines[1] ?? "").replace('"bytes_out":420', '"bytes_out":1');
    const result = verify(lines);
    assert.equal(result.ok, false);
    assert.deepEqual(
      { records: result.records, events: result.events, digests: result.digests, problemCount: result.problemCount },
      { records: 4, events: 3, digests: 1, problemCount: 1 },
    );
    assert.deepEqual(result.problems, [
      {
        kind: "altered",
        line: 2,
        stream: "gw-1",
        seq: 2,
        source: "a.jsonl",
        message: "a.jsonl:2 (stream gw-1, seq 2) was altered: its content does not match its hash",
      },
    ]);
  });

  it("reports a replaced record once", () => {
    const w = new AuditLogWriter("gw-1");
    const lines = [w.event(), w.event(), w.event(), w.event()];
    const forger = new HashChain("gw-1", { seq: 2, hash: "f".repeat(64) });
    lines[2] = canonicalJson(forger.append({ type: "event", ...auditEvent({ action: "DeleteRun" }) }));
    assert.deepEqual(summary(lines), ["inserted a.jsonl:3 seq 3"]);
  });

  it("reports a record altered and re-hashed at the record after it, once", () => {
    const w = new AuditLogWriter("gw-1");
    const lines = [w.event(), w.event(), w.event(), w.event()];
    const rehashed = JSON.parse(lines[1] ?? "") as Record<string, unknown>;
    const forger = new HashChain("gw-1", { seq: 1, hash: String(rehashed["prev_hash"]) });
    lines[1] = canonicalJson(
      forger.append({ ...rehashed, action: "GetRun", bytes_out: 1, stream: undefined, seq: undefined, prev_hash: undefined, hash: undefined }),
    );
    const [problem, ...rest] = verify(lines).problems;
    assert.deepEqual(rest, []);
    assert.equal(`${problem?.kind} ${problem?.line}`, "inserted 3");
    assert.match(problem?.message ?? "", /does not link to the record before it \(a\.jsonl:2\): .* or that record was altered and re-hashed/);
  });

  it("reports a gap that later fills as reordered, and a gap that never fills as removed", () => {
    const w = new AuditLogWriter("gw-1");
    const lines = [w.event(), w.event(), w.event(), w.event(), w.event(), w.event()];
    const moved = [lines[0], lines[2], lines[1], lines[3], lines[5]].map(String);
    assert.deepEqual(summary(moved), ["reordered a.jsonl:3 seq 2", "removed a.jsonl:5 seq 6"]);
  });

  it("says how far each stream is vouched for", () => {
    const closed = new AuditLogWriter("gw-closed");
    const open = new AuditLogWriter("gw-open");
    const lines = [closed.event(), open.event(), closed.digest("interval"), open.digest("interval"), closed.event(), open.event(), open.event()];
    lines.push(closed.digest("shutdown"));
    const { streams, ok } = verify(lines);
    assert.equal(ok, true);
    assert.deepEqual(streams, [
      {
        stream: "gw-closed",
        records: 4,
        lastSeq: 4,
        lastDigest: { seq: 4, coversSeq: 3, reason: "shutdown", at: "a.jsonl:8" },
        unsignedTail: 0,
        closed: true,
      },
      {
        stream: "gw-open",
        records: 4,
        lastSeq: 4,
        lastDigest: { seq: 2, coversSeq: 1, reason: "interval", at: "a.jsonl:4" },
        unsignedTail: 2,
        closed: false,
      },
    ]);
  });

  it("does not let a digest signed with another key vouch for anything", () => {
    const w = new AuditLogWriter("gw-1", Buffer.from("another-key-that-is-long-enough-for-this", "utf8"));
    const lines = [w.event(), w.digest("shutdown")];
    const result = verify(lines);
    assert.deepEqual(
      result.problems.map((p) => p.kind),
      ["bad-digest"],
    );
    assert.equal(result.streams[0]?.lastDigest, undefined);
    assert.equal(result.streams[0]?.closed, false);
    assert.equal(verify(lines, null).ok, true, "without a key only the shape is checked");
  });

  it("keeps a bounded number of problems but counts them all", () => {
    const lines = Array.from({ length: MAX_KEPT_PROBLEMS + 5 }, () => "not json");
    const result = verify(lines);
    assert.equal(result.problemCount, MAX_KEPT_PROBLEMS + 5);
    assert.equal(result.problems.length, MAX_KEPT_PROBLEMS);
  });

  it("tells JSON that is not an audit record from a cut line", () => {
    assert.deepEqual(
      verify(['{"stream":"gw-1"}', "null", '{"half":']).problems.map((p) => p.message),
      [
        "a.jsonl:1 is JSON but not an audit record (it needs stream, seq, prev_hash and hash)",
        "a.jsonl:2 is JSON but not an audit record (it needs stream, seq, prev_hash and hash)",
        "a.jsonl:3 is not JSON",
      ],
    );
  });
});
