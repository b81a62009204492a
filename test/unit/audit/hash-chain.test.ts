import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalJson, digestSignature, HashChain } from "../../../src/audit/hash-chain.js";
import { verifyChain } from "../../../src/audit/verify-chain.js";

const KEY = Buffer.from("audit-digest-key-for-tests");

/** Ten events on one stream with a signed digest after the fifth and the tenth. */
function writeStream(stream = "gw-1"): string[] {
  const chain = new HashChain(stream);
  const lines: string[] = [];
  for (let i = 1; i <= 10; i += 1) {
    lines.push(JSON.stringify(chain.append({ action: "CreateRun", n: i })));
    if (i % 5 === 0) {
      const covers = { covers_seq: chain.seq, covers_hash: chain.lastHash };
      lines.push(
        JSON.stringify(chain.append({ type: "digest", ...covers, signature: digestSignature(KEY, stream, covers.covers_seq, covers.covers_hash) })),
      );
    }
  }
  return lines;
}

describe("canonicalJson", () => {
  it("sorts keys at every level and drops undefined", () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });
});

describe("verifyChain", () => {
  it("accepts an untouched stream and checks its digests", () => {
    const report = verifyChain(writeStream(), KEY);
    assert.deepEqual(report, { ok: true, records: 12, digests: 2, problems: [] });
  });

  it("names an edited line", () => {
    const lines = writeStream();
    lines[3] = (lines[3] ?? "").replace('"n":4', '"n":40');
    const report = verifyChain(lines, KEY);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.line, p.seq]),
      [["altered", 4, 4]],
    );
  });

  it("names a removed line", () => {
    const lines = writeStream();
    lines.splice(2, 1);
    const [problem] = verifyChain(lines, KEY).problems;
    assert.equal(problem?.kind, "removed");
    assert.equal(problem?.line, 3);
    assert.match(problem?.message ?? "", /1 record\(s\) removed before line 3 .*expected seq 3/);
  });

  it("names two swapped lines", () => {
    const lines = writeStream();
    [lines[6], lines[7]] = [lines[7] ?? "", lines[6] ?? ""];
    const kinds = verifyChain(lines, KEY).problems.map((p) => p.kind);
    assert.ok(kinds.includes("removed") || kinds.includes("reordered"), kinds.join(","));
    assert.ok(kinds.includes("reordered"));
  });

  it("names an inserted record even when it carries a valid hash of its own", () => {
    const lines = writeStream();
    const forger = new HashChain("gw-1", { seq: 2, hash: "f".repeat(64) });
    lines.splice(2, 0, JSON.stringify(forger.append({ action: "DeleteRun", n: 99 })));
    const [problem] = verifyChain(lines, KEY).problems;
    assert.equal(problem?.kind, "inserted");
    assert.equal(problem?.line, 3);
  });

  it("refuses a rewritten chain whose digests were forged without the key", () => {
    const forged = writeStream().map((line) => line.replace(/"signature":"[0-9a-f]+"/, `"signature":"${"0".repeat(64)}"`));
    const report = verifyChain(forged, KEY);
    assert.deepEqual(
      report.problems.map((p) => p.kind),
      ["altered", "altered"],
      "editing a digest breaks its own hash",
    );
    const chain = new HashChain("gw-1");
    const rewritten = [
      JSON.stringify(chain.append({ action: "x" })),
      JSON.stringify(chain.append({ type: "digest", covers_seq: 1, covers_hash: "0".repeat(64), signature: "00" })),
    ];
    assert.equal(verifyChain(rewritten, KEY).problems[0]?.kind, "bad-digest");
  });

  it("reports a line that is not JSON and keeps checking the rest", () => {
    const lines = writeStream();
    lines.splice(5, 0, '{"half":');
    const report = verifyChain(lines, KEY);
    assert.equal(report.problems[0]?.kind, "unreadable");
    assert.equal(report.problems[0]?.line, 6);
    assert.equal(report.problems.length, 1);
  });

  it("keeps streams of different gateway instances apart", () => {
    const merged = writeStream("gw-a").flatMap((line, i) => [line, writeStream("gw-b")[i] ?? ""]);
    assert.equal(verifyChain(merged, KEY).ok, true);
  });
});
