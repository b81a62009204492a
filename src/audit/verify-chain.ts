import { type DigestKey, describeKeys, findSigningKey } from "./digest-keys.js";
import { GENESIS_HASH, hashRecord, type ChainedRecord } from "./hash-chain.js";

export type ChainProblemKind = "unreadable" | "altered" | "removed" | "reordered" | "inserted" | "bad-digest";

export interface ChainProblem {
  kind: ChainProblemKind;
  /** 1-based line in the input where the problem shows. */
  line: number;
  stream: string | undefined;
  seq: number | undefined;
  message: string;
  /** The file or volume object the line is in, when the caller named it. */
  source?: string;
}

export interface ChainReport {
  ok: boolean;
  records: number;
  digests: number;
  problems: ChainProblem[];
}

/** Where a line was read: a file or volume object (optional) and its 1-based line number. */
export interface LineOrigin {
  source?: string;
  line: number;
}

/** What one stream looked like once every line was read. */
export interface StreamSummary {
  stream: string;
  records: number;
  lastSeq: number;
  /** The last digest that checked out; the chain up to it is vouched for. Undefined when none did. */
  lastDigest: { seq: number; coversSeq: number; reason: string | undefined; at: string } | undefined;
  /** Records after the last sound digest: only the hash chain speaks for them. */
  unsignedTail: number;
  /** The stream's last record is a sound digest written at shutdown: nothing can be missing at its end. */
  closed: boolean;
  /** The name of the key its sound digests verified with; undefined without keys, or when none verified. */
  signedBy: string | undefined;
  /** Digests whose signature verified with none of the keys: a key not given (a retired one), or a forgery. */
  unverifiedDigests: number;
}

export interface ChainVerification extends ChainReport {
  events: number;
  /** Every problem found; `problems` keeps at most MAX_KEPT_PROBLEMS of them. */
  problemCount: number;
  streams: StreamSummary[];
}

/** Problems kept for the report; beyond this only the count grows, so a garbage file cannot exhaust memory. */
export const MAX_KEPT_PROBLEMS = 10_000;
/** Hashes kept per stream to tell a repeated record from a forged one; older ones are only counted. */
const RECENT_HASHES = 1_024;

/** A signed digest record (`type: "digest"`), chained like any other record. */
interface DigestFields {
  type?: unknown;
  covers_seq?: unknown;
  covers_hash?: unknown;
  signature?: unknown;
  reason?: unknown;
}

type ParsedRecord = ChainedRecord & DigestFields;

/** Seqs a later record skipped; reported as removed at the end unless they turn up late (then: reordered). */
interface Gap {
  from: number;
  to: number;
  /** The record that skipped them. */
  at: LineOrigin;
  seqAt: number;
  ordinal: number;
}

interface StreamState {
  /** Highest seq accepted so far, and the hash the next record must link to. */
  maxSeq: number;
  cursorHash: string;
  cursorAt: LineOrigin | undefined;
  /**
   * The chain as it was before a record flagged `inserted`: if the next record links to this
   * instead, the flagged one was an insertion and the chain continues from here, silently.
   */
  alternative: { seq: number; hash: string } | undefined;
  recent: Map<number, { hash: string; at: LineOrigin }>;
  gaps: Gap[];
  records: number;
  lastDigest: StreamSummary["lastDigest"];
  closed: boolean;
  signedBy: string | undefined;
  unverifiedDigests: number;
}

/**
 * Checks JSON lines written by HashChain, one line at a time, so months of logs are read
 * with per-stream state only: each record's own hash, its link to the record before it in
 * the same stream, the sequence, and (with the key) every signed digest. Names the first
 * problem precisely, then resynchronises on the record that follows, so one edit yields one
 * finding rather than a cascade. Lines of several streams may be interleaved; each stream's
 * lines must come in write order (read-audit-sources.ts orders files so). With several keys
 * (a trail that spans key rotations), a digest is sound when one of them verifies it, and
 * each stream reports which one did.
 */
export class ChainVerifier {
  readonly #keys: readonly DigestKey[];
  readonly #streams = new Map<string, StreamState>();
  /** With the ordinal of the line they show on, so findings made at the end still sort by line. */
  readonly #problems: { ordinal: number; problem: ChainProblem }[] = [];
  #problemCount = 0;
  #records = 0;
  #events = 0;
  #digests = 0;
  #ordinal = 0;

  /** Without keys, digests are checked for shape only. */
  constructor(keys: readonly DigestKey[] = []) {
    this.#keys = keys;
  }

  get signaturesChecked(): boolean {
    return this.#keys.length > 0;
  }

  check(text: string, at: LineOrigin): void {
    this.#ordinal += 1;
    if (text.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // A gateway killed mid-write leaves a cut last line; anywhere else this is an edit.
      this.#report({ kind: "unreadable", at, stream: undefined, seq: undefined, message: `${where(at)} is not JSON` });
      return;
    }
    if (!isChained(parsed)) {
      const message = `${where(at)} is JSON but not an audit record (it needs stream, seq, prev_hash and hash)`;
      this.#report({ kind: "unreadable", at, stream: undefined, seq: undefined, message });
      return;
    }
    this.#records += 1;
    if (parsed.type === "digest") this.#digests += 1;
    if (parsed.type === "event") this.#events += 1;
    this.#checkRecord(parsed, at);
  }

  #checkRecord(record: ParsedRecord, at: LineOrigin): void {
    const { stream, seq } = record;
    const state = this.#state(stream);
    state.records += 1;
    const alternative = state.alternative;
    state.alternative = undefined;
    const describe = `${where(at)} (stream ${stream}, seq ${seq})`;
    const sound = hashRecord(record) === record.hash;
    const expected = state.maxSeq + 1;
    let problem: ChainProblemKind | undefined;

    if (!sound) {
      problem = this.#report({ kind: "altered", at, stream, seq, message: `${describe} was altered: its content does not match its hash` });
      // Trust its place, not its content: it takes the next slot, and the next record links to its stored hash.
      this.#advance(state, expected, record.hash, at);
      return;
    }
    if (alternative !== undefined && seq === alternative.seq + 1 && record.prev_hash === alternative.hash) {
      // The record flagged just before was inserted; this one continues the real chain.
      this.#advance(state, seq, record.hash, at);
    } else if (seq === expected) {
      // With an alternative pending, the break was reported on the line before (a replaced record): once is enough.
      if (record.prev_hash !== state.cursorHash && alternative === undefined) {
        const before = state.cursorAt === undefined ? "the start of the stream" : where(state.cursorAt);
        problem = this.#report({
          kind: "inserted",
          at,
          stream,
          seq,
          message: `${describe} does not link to the record before it (${before}): it was inserted or replaced, or that record was altered and re-hashed`,
        });
        state.alternative = { seq: state.maxSeq, hash: state.cursorHash };
      }
      this.#advance(state, seq, record.hash, at);
    } else if (seq > expected) {
      // Its predecessor is missing, so its link cannot be checked; the gap is judged at the end.
      state.gaps.push({ from: expected, to: seq - 1, at, seqAt: seq, ordinal: this.#ordinal });
      this.#advance(state, seq, record.hash, at);
    } else {
      problem = this.#late(state, record, at, describe);
    }

    if (record.type === "digest" && problem === undefined) this.#checkDigest(state, record, at, describe);
  }

  /** A seq at or below the highest seen: a record that turns up late, a repeat, or a forgery. */
  #late(state: StreamState, record: ParsedRecord, at: LineOrigin, describe: string): ChainProblemKind {
    const { stream, seq } = record;
    const gapIndex = state.gaps.findIndex((gap) => gap.from <= seq && seq <= gap.to);
    const gap = state.gaps[gapIndex];
    if (gap !== undefined) {
      const rest = [
        { ...gap, to: seq - 1 },
        { ...gap, from: seq + 1 },
      ].filter((part) => part.from <= part.to);
      state.gaps.splice(gapIndex, 1, ...rest);
      const predecessor = state.recent.get(seq - 1);
      state.recent.set(seq, { hash: record.hash, at });
      if (predecessor !== undefined && predecessor.hash !== record.prev_hash) {
        return this.#report({
          kind: "inserted",
          at,
          stream,
          seq,
          message: `${describe} fills a gap in the stream but does not link to the record before it`,
        });
      }
      return this.#report({
        kind: "reordered",
        at,
        stream,
        seq,
        message: `${describe} is out of order: it belongs before ${where(gap.at)} (seq ${gap.seqAt})`,
      });
    }
    const known = state.recent.get(seq);
    if (known !== undefined && known.hash !== record.hash) {
      return this.#report({ kind: "inserted", at, stream, seq, message: `${describe} claims seq ${seq}, which ${where(known.at)} already holds` });
    }
    const copy = known === undefined ? "" : `: a copy of ${where(known.at)}`;
    return this.#report({
      kind: "reordered",
      at,
      stream,
      seq,
      message: `${describe} is out of order or repeated: seq ${state.maxSeq} came before it${copy}`,
    });
  }

  /** A digest vouches for the record just before it; the signature proves who wrote it. */
  #checkDigest(state: StreamState, record: ParsedRecord, at: LineOrigin, describe: string): void {
    const { stream, seq } = record;
    const coversSeq = record.covers_seq;
    const coversHash = record.covers_hash;
    const signature = record.signature;
    if (coversSeq !== seq - 1 || coversHash !== record.prev_hash || typeof signature !== "string") {
      const message = `${describe} is a digest that does not cover the record before it (covers seq ${String(coversSeq)}, expected ${seq - 1})`;
      this.#report({ kind: "bad-digest", at, stream, seq, message });
      return;
    }
    if (this.#keys.length > 0) {
      const signer = findSigningKey(this.#keys, { stream, coversSeq, coversHash, signature }, state.signedBy);
      if (signer === undefined) {
        state.unverifiedDigests += 1;
        const keys = describeKeys(this.#keys.map((k) => k.name));
        this.#report({ kind: "bad-digest", at, stream, seq, message: `${describe} is a digest whose signature does not verify with ${keys}` });
        return;
      }
      // The gateway reads its key once, at start: a stream whose digests change key was not written by one gateway.
      if (state.signedBy !== undefined && signer.name !== state.signedBy) {
        const message = `${describe} is a digest signed with the key in ${signer.name}, but the stream's earlier digests were signed with the key in ${state.signedBy}: a gateway signs a whole stream with one key`;
        this.#report({ kind: "bad-digest", at, stream, seq, message });
        return;
      }
      state.signedBy = signer.name;
    }
    const reason = typeof record.reason === "string" ? record.reason : undefined;
    if (seq === state.maxSeq) {
      state.lastDigest = { seq, coversSeq, reason, at: where(at) };
      state.closed = reason === "shutdown";
    }
  }

  /** Moves the stream's cursor; a digest that then checks out may mark the stream closed again. */
  #advance(state: StreamState, seq: number, hash: string, at: LineOrigin): void {
    state.maxSeq = seq;
    state.cursorHash = hash;
    state.cursorAt = at;
    state.closed = false;
    state.recent.set(seq, { hash, at });
    if (state.recent.size > RECENT_HASHES) {
      const oldest = state.recent.keys().next().value;
      if (oldest !== undefined) state.recent.delete(oldest);
    }
  }

  #state(stream: string): StreamState {
    let state = this.#streams.get(stream);
    if (state === undefined) {
      state = {
        maxSeq: 0,
        cursorHash: GENESIS_HASH,
        cursorAt: undefined,
        alternative: undefined,
        recent: new Map(),
        gaps: [],
        records: 0,
        lastDigest: undefined,
        closed: false,
        signedBy: undefined,
        unverifiedDigests: 0,
      };
      this.#streams.set(stream, state);
    }
    return state;
  }

  #report(
    found: { kind: ChainProblemKind; at: LineOrigin; stream: string | undefined; seq: number | undefined; message: string },
    ordinal = this.#ordinal,
  ): ChainProblemKind {
    this.#problemCount += 1;
    if (this.#problems.length < MAX_KEPT_PROBLEMS) {
      const { kind, at, stream, seq, message } = found;
      const problem: ChainProblem = { kind, line: at.line, stream, seq, message, ...(at.source === undefined ? {} : { source: at.source }) };
      this.#problems.push({ ordinal, problem });
    }
    return found.kind;
  }

  /**
   * The verdict. Seqs still missing are reported as removed at the record that skipped them.
   * Records cut from the very end of a stream leave no gap: only its last digest bounds them
   * (see StreamSummary.unsignedTail and `closed`).
   */
  finish(): ChainVerification {
    for (const [stream, state] of this.#streams) {
      for (const gap of state.gaps) {
        const count = gap.to - gap.from + 1;
        const range = count > 1 ? ` (seq ${gap.from}-${gap.to} missing)` : "";
        const message = `${count} record(s) removed before ${where(gap.at)} (stream ${stream}, seq ${gap.seqAt}): expected seq ${gap.from}${range}`;
        this.#report({ kind: "removed", at: gap.at, stream, seq: gap.seqAt, message }, gap.ordinal);
      }
      state.gaps = [];
    }
    const problems = [...this.#problems].sort((a, b) => a.ordinal - b.ordinal).map((kept) => kept.problem);
    const streams = [...this.#streams].map(([stream, state]) => ({
      stream,
      records: state.records,
      lastSeq: state.maxSeq,
      lastDigest: state.lastDigest,
      unsignedTail: state.maxSeq - (state.lastDigest?.seq ?? 0),
      closed: state.closed,
      signedBy: state.signedBy,
      unverifiedDigests: state.unverifiedDigests,
    }));
    return {
      ok: this.#problemCount === 0,
      records: this.#records,
      events: this.#events,
      digests: this.#digests,
      problemCount: this.#problemCount,
      problems,
      streams,
    };
  }
}

/**
 * Checks a whole stream held in memory (tests, small files). Lines are numbered from 1;
 * problems name `line N`; findings call the key `KEY`.
 */
export function verifyChain(lines: readonly string[], key?: Buffer): ChainReport {
  const verifier = new ChainVerifier(key === undefined ? [] : [{ name: "KEY", key }]);
  lines.forEach((text, index) => verifier.check(text, { line: index + 1 }));
  const { ok, records, digests, problems } = verifier.finish();
  return { ok, records, digests, problems };
}

/** `file:line` when the source is known, `line N` otherwise. */
export function where(at: LineOrigin): string {
  return at.source === undefined ? `line ${at.line}` : `${at.source}:${at.line}`;
}

function isChained(value: unknown): value is ParsedRecord {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const record = value as Partial<ChainedRecord>;
  return (
    typeof record.stream === "string" &&
    record.stream !== "" &&
    Number.isSafeInteger(record.seq) &&
    (record.seq ?? 0) > 0 &&
    typeof record.prev_hash === "string" &&
    typeof record.hash === "string"
  );
}
