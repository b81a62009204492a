import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DigestKey } from "../../../src/audit/digest-keys.js";
import { canonicalJson, digestSignature, HashChain } from "../../../src/audit/hash-chain.js";
import { ChainVerifier, MAX_KEPT_PROBLEMS } from "../../../src/audit/verify-chain.js";
import { AuditLogWriter, auditEvent, TEST_AUDIT_KEY } from "../../support/signed-audit-log.js";

const KEY = Buffer.from(TEST_AUDIT_KEY, "utf8");

/** `key: null` checks without a key. */
function verify(lines: readonly string[], key: Buffer | null = KEY, source = "a.jsonl"): ReturnType<ChainVerifier["finish"]> {
  return verifyWith(lines, key === null ? [] : [{ name: "KEY", key }], source);
}

function verifyWith(lines: readonly string[], keys: readonly DigestKey[], source = "a.jsonl"): ReturnType<ChainVerifier["finish"]> {
  const verifier = new ChainVerifier(keys);
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
        signedBy: "KEY",
        unverifiedDigests: 0,
      },
      {
        stream: "gw-open",
        records: 4,
        lastSeq: 4,
        lastDigest: { seq: 2, coversSeq: 1, reason: "interval", at: "a.jsonl:4" },
        unsignedTail: 2,
        closed: false,
        signedBy: "KEY",
        unverifiedDigests: 0,
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

  it("accepts each stream signed with one of several keys and names the key that signed it", () => {
    const retired = Buffer.from("the-retired-key-of-last-year-0123456789", "utf8");
    const before = new AuditLogWriter("gw-1-before-rotation", retired);
    const after = new AuditLogWriter("gw-2-after-rotation", KEY);
    const lines = [before.event(), before.digest("interval"), before.event(), before.digest("shutdown"), after.event(), after.digest("interval")];
    const keys = [
      { name: "CURRENT", key: KEY },
      { name: "RETIRED", key: retired },
    ];
    const result = verifyWith(lines, keys);
    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.deepEqual(
      result.streams.map((s) => [s.stream, s.signedBy, s.closed, s.unverifiedDigests]),
      [
        ["gw-1-before-rotation", "RETIRED", true, 0],
        ["gw-2-after-rotation", "CURRENT", false, 0],
      ],
    );

    const currentOnly = verifyWith(lines, [{ name: "CURRENT", key: KEY }]);
    assert.deepEqual(
      currentOnly.problems.map((p) => `${p.kind} ${p.line}: ${p.message}`),
      [
        "bad-digest 2: a.jsonl:2 (stream gw-1-before-rotation, seq 2) is a digest whose signature does not verify with the key in CURRENT",
        "bad-digest 4: a.jsonl:4 (stream gw-1-before-rotation, seq 4) is a digest whose signature does not verify with the key in CURRENT",
      ],
    );
    const old = currentOnly.streams[0];
    assert.deepEqual([old?.signedBy, old?.unverifiedDigests, old?.lastDigest, old?.closed], [undefined, 2, undefined, false]);
  });

  it("names every key a signature was checked against when none verifies it", () => {
    const forger = new AuditLogWriter("gw-1", Buffer.from("a-key-nobody-was-given-0123456789abcdef", "utf8"));
    const result = verifyWith(
      [forger.event(), forger.digest("interval")],
      [
        { name: "A", key: KEY },
        { name: "B", key: Buffer.from("another-key-that-is-long-enough-for-this", "utf8") },
      ],
    );
    assert.deepEqual(
      result.problems.map((p) => p.message),
      ["a.jsonl:2 (stream gw-1, seq 2) is a digest whose signature does not verify with any of the keys in A, B"],
    );
  });

  it("refuses a stream whose digests change key: a gateway signs a whole stream with one key", () => {
    const other = Buffer.from("the-retired-key-of-last-year-0123456789", "utf8");
    const w = new AuditLogWriter("gw-1", KEY);
    const lines = [w.event(), w.digest("interval"), w.event()];
    // The chain goes on soundly, but its next digest is signed with the other key (a leaked retired key, say).
    const { seq, lastHash } = w.chain;
    const digest = { type: "digest", event_time: "2026-11-28T09:00:00.000Z", covers_seq: seq, covers_hash: lastHash, reason: "shutdown" };
    const forged = new HashChain("gw-1", { seq, hash: lastHash }).append({ ...digest, signature: digestSignature(other, "gw-1", seq, lastHash) });
    lines.push(canonicalJson(forged));
    const result = verifyWith(lines, [
      { name: "CURRENT", key: KEY },
      { name: "RETIRED", key: other },
    ]);
    assert.deepEqual(
      result.problems.map((p) => `${p.kind} ${p.line}: ${p.message}`),
      [
        "bad-digest 4: a.jsonl:4 (stream gw-1, seq 4) is a digest signed with the key in RETIRED, but the stream's earlier digests were signed with the key in CURRENT: a gateway signs a whole stream with one key",
      ],
    );
    assert.equal(result.streams[0]?.closed, false, "the refused shutdown digest does not close the stream");
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
