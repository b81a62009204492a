import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalJson, digestSignature, HashChain, hashRecord } from "../../../src/audit/hash-chain.js";
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

  it("writes exactly the bytes earlier gateways hashed (files written before stay verifiable)", () => {
    // Pinned outputs: key order by UTF-16 code units (uppercase before lowercase, "é" after "z",
    // an astral character after both), escapes, undefined in arrays as null, empty containers.
    const cases: [unknown, string][] = [
      [{ z: 1, é: 2, a: 3, Z: 4, "😀": 5, "": 6 }, '{"":6,"Z":4,"a":3,"z":1,"é":2,"😀":5}'],
      [{ q: 'say "hi"\n', ctl: "\u0001", nl: "a\nb" }, '{"ctl":"\\u0001","nl":"a\\nb","q":"say \\"hi\\"\\n"}'],
      [[1, undefined, null, [], {}], "[1,null,null,[],{}]"],
      [{ n: -0, big: 1e21, f: 0.1 }, '{"big":1e+21,"f":0.1,"n":0}'],
      ["plain", '"plain"'],
      [null, "null"],
    ];
    for (const [value, expected] of cases) assert.equal(canonicalJson(value), expected);
  });
});

describe("HashChain.appendLine", () => {
  it("gives exactly canonicalJson(record), with the hash over everything else", () => {
    const chain = new HashChain("gw-line");
    const contents: Record<string, unknown>[] = [
      { type: "event", action: "GetRun", objects: { run_id: "r1" }, note: undefined },
      { type: "event", zzz: 1, aaa: [1, { b: 2, a: 1 }], hash: "a forged hash is replaced" },
      { a: 1 },
    ];
    const lines: string[] = [];
    for (const content of contents) {
      const { record, line } = chain.appendLine(content);
      assert.equal(line, canonicalJson(record));
      assert.equal(record.hash, hashRecord(record));
      assert.notEqual(record.hash, "a forged hash is replaced");
      lines.push(line);
    }
    const covers = { covers_seq: chain.seq, covers_hash: chain.lastHash };
    lines.push(
      chain.appendLine({ type: "digest", ...covers, signature: digestSignature(KEY, "gw-line", covers.covers_seq, covers.covers_hash) }).line,
    );
    assert.deepEqual(verifyChain(lines, KEY), { ok: true, records: 4, digests: 1, problems: [] });
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
