import { GENESIS_HASH, digestMatches, hashRecord, type ChainedRecord } from "./hash-chain.js";

export type ChainProblemKind = "unreadable" | "altered" | "removed" | "reordered" | "inserted" | "bad-digest";

export interface ChainProblem {
  kind: ChainProblemKind;
  /** 1-based line in the input where the problem shows. */
  line: number;
  stream: string | undefined;
  seq: number | undefined;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  records: number;
  digests: number;
  problems: ChainProblem[];
}

/** A signed digest record (`type: "digest"`), chained like any other record. */
interface DigestFields {
  type?: string;
  covers_seq?: number;
  covers_hash?: string;
  signature?: string;
}

/**
 * Checks JSON lines written by HashChain: each record's own hash, its link to the record
 * before it in the same stream, the sequence, and (with the key) every signed digest.
 * Names the first problem of each stream precisely, then resynchronises on the record
 * that follows, so one edit yields one finding rather than a cascade.
 */
export function verifyChain(lines: readonly string[], key?: Buffer): ChainReport {
  const problems: ChainProblem[] = [];
  const last = new Map<string, { seq: number; hash: string }>();
  let records = 0;
  let digests = 0;

  lines.forEach((text, index) => {
    const line = index + 1;
    if (text.trim() === "") return;
    let record: ChainedRecord & DigestFields;
    try {
      record = JSON.parse(text) as ChainedRecord & DigestFields;
    } catch {
      problems.push({ kind: "unreadable", line, stream: undefined, seq: undefined, message: `line ${line} is not JSON` });
      return;
    }
    records += 1;
    const { stream, seq } = record;
    const previous = last.get(stream) ?? { seq: 0, hash: GENESIS_HASH };
    const describe = `line ${line} (stream ${String(stream)}, seq ${String(seq)})`;
    if (hashRecord(record) !== record.hash) {
      problems.push({ kind: "altered", line, stream, seq, message: `${describe} was altered: its content does not match its hash` });
    } else if (seq > previous.seq + 1) {
      problems.push({
        kind: "removed",
        line,
        stream,
        seq,
        message: `${seq - previous.seq - 1} record(s) removed before ${describe}: expected seq ${previous.seq + 1}`,
      });
    } else if (seq <= previous.seq) {
      problems.push({ kind: "reordered", line, stream, seq, message: `${describe} is out of order or repeated: seq ${previous.seq} came before it` });
    } else if (record.prev_hash !== previous.hash) {
      problems.push({ kind: "inserted", line, stream, seq, message: `${describe} does not follow the record before it: inserted or replaced` });
    }
    const lineHasProblem = problems.at(-1)?.line === line;
    if (record.type === "digest") digests += 1;
    // One finding per line: a digest is judged only when the record itself is sound.
    if (record.type === "digest" && !lineHasProblem) {
      // A digest vouches for the record just before it; the signature proves who wrote it.
      const coversPrevious = record.covers_seq === previous.seq && record.covers_hash === previous.hash;
      if (
        !coversPrevious ||
        (key !== undefined && !digestMatches(key, stream, record.covers_seq ?? -1, record.covers_hash ?? "", record.signature ?? ""))
      ) {
        problems.push({ kind: "bad-digest", line, stream, seq, message: `${describe} is a digest whose signature does not verify with this key` });
      }
    }
    last.set(stream, { seq, hash: record.hash });
  });
  return { ok: problems.length === 0, records, digests, problems };
}
