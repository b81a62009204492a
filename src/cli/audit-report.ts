import type { AuditRecord } from "../audit/audit-record.js";
import type { ChainVerification, StreamSummary } from "../audit/verify-chain.js";

/**
 * What `npm run audit` prints, in words a compliance reviewer reads without the source:
 * the verify verdict with its limits, and search results as a table. Pure text.
 */

/** Characters that could move a terminal's cursor, recolour it, or reverse text: a tampered record must not forge the table. */
const UNSAFE_FOR_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const COLUMNS = [
  { title: "TIME", width: 24 },
  { title: "PERSON", width: 26 },
  { title: "ACTION", width: 24 },
  { title: "OBJECTS", width: 40 },
  { title: "STATUS", width: 28 },
  { title: "DECISION/RULE", width: 20 },
  { title: "DURATION", width: 0 },
] as const;

/** The verdict, with the keys the signatures were checked with (`keyEnvs`, by variable name; empty: none). */
export function formatVerifyReport(result: ChainVerification, context: { files: number; keyEnvs: readonly string[]; defaultKeyEnv: string }): string {
  const counts =
    `${count(result.records, "record")} (${count(result.events, "event")}, ${count(result.digests, "digest")}) ` +
    `in ${count(result.streams.length, "stream")}, read from ${count(context.files, "file")}`;
  const lines: string[] = [];
  if (result.ok) {
    lines.push(`OK: ${counts}.`);
  } else {
    lines.push(`FAILED: ${count(result.problemCount, "problem")} in ${counts}:`);
    for (const problem of result.problems) lines.push(`  [${problem.kind}] ${problem.message}`);
    const unlisted = result.problemCount - result.problems.length;
    if (unlisted > 0) lines.push(`  ... and ${count(unlisted, "more problem")} not listed.`);
  }
  const { keyEnvs } = context;
  const signed = keyEnvs.length > 0;
  // With one key "signed" says it all; with several, which one signed a stream tells old streams from new.
  const nameSigner = keyEnvs.length > 1;
  if (!signed) {
    lines.push(
      `Digest signatures were NOT checked: no key (set ${context.defaultKeyEnv} or pass --key-env NAME). ` +
        "Digests were checked for shape only, so a log rewritten end to end with fresh hashes would still pass.",
    );
  } else if (nameSigner) {
    lines.push(`Digest signatures were checked with the keys in ${keyEnvs.join(", ")}; each stream names the one that signed it.`);
  } else {
    lines.push(`Digest signatures were checked with the key in ${keyEnvs[0]}.`);
  }
  if (result.streams.length > 0) {
    lines.push("Streams (the newest stream of a running gateway is normally still open):");
    for (const stream of result.streams) {
      const signer = nameSigner && stream.signedBy !== undefined ? ` Signed with the key in ${stream.signedBy}.` : "";
      lines.push(`  ${stream.stream}: ${describeStream(stream, signed)}${signer}`);
    }
  }
  const unsigned = result.streams.filter((stream) => stream.unverifiedDigests > 0 && stream.signedBy === undefined).map((stream) => stream.stream);
  if (unsigned.length > 0) {
    // The usual cause is benign (a stream from before a key rotation) and the fix is one option away.
    lines.push(
      `No digest of ${count(unsigned.length, "stream")} (${unsigned.join(", ")}) verifies with ${keyEnvs.length === 1 ? "this key" : "these keys"}. ` +
        "A stream written before a key rotation was signed with the retired key: verify again with it added (--key-env NAME, once per key). " +
        "Otherwise these digests were not written by the gateway.",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** How far each stream is vouched for: records cut off its end leave no gap, only its last digest bounds them. */
function describeStream(stream: StreamSummary, signed: boolean): string {
  const head = `${count(stream.records, "record")}, up to seq ${stream.lastSeq}; `;
  // Whether "signed" is proven was said once above; here it only qualifies the word.
  const digest = signed ? "signed digest" : "digest";
  const last = stream.lastDigest;
  if (last === undefined) return `${head}no valid ${digest}, so records cut off its end would go unnoticed.`;
  if (stream.closed) return `${head}ends with its shutdown ${digest} (${last.at}): complete.`;
  if (stream.unsignedTail === 0) {
    return (
      `${head}ends with a ${digest} (${last.reason ?? "no reason given"}, ${last.at}): everything up to it is vouched for, ` +
      "but without a shutdown digest records cut off after it would go unnoticed."
    );
  }
  return (
    `${head}its last ${digest} (${last.at}) covers seq ${last.coversSeq}; the ${count(stream.unsignedTail, "record")} after it ` +
    "rest on the hash chain alone, so cutting them off the end would go unnoticed."
  );
}

export function formatSearchHeader(): string {
  return `${COLUMNS.map((column) => column.title.padEnd(column.width)).join("  ")}\n`;
}

/** One event as a table row; cells are padded, never cut, so nothing a reviewer needs is hidden. */
export function formatSearchRow(record: AuditRecord): string {
  if (record.type !== "event") return "";
  const principal = (record.principal ?? {}) as Partial<typeof record.principal>;
  const outcome = (record.outcome ?? {}) as Partial<typeof record.outcome>;
  const objects = Object.entries((record.objects ?? {}) as Record<string, unknown>)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(" ");
  // The gateway's own code adds to MLflow's when it says more (POLICY_DENIED behind a 403 PERMISSION_DENIED).
  const gatewayError =
    typeof outcome.gateway_error === "string" && outcome.gateway_error !== outcome.error_code ? `(${outcome.gateway_error})` : undefined;
  const status = [outcome.status, outcome.error_code, gatewayError, outcome.abandoned === true ? "(abandoned)" : undefined].filter(
    (part) => part !== undefined && part !== null,
  );
  const cells = [
    record.event_time,
    principal.email ?? principal.user_name ?? principal.subject ?? "-",
    record.action,
    objects || "-",
    status.join(" ") || "-",
    `${String(outcome.decision ?? "-")}/${String(outcome.decided_by ?? "-")}`,
    typeof record.duration_ms === "number" ? `${record.duration_ms} ms` : "-",
  ];
  return `${cells
    .map((cell, index) => safe(cell).padEnd(COLUMNS[index]?.width ?? 0))
    .join("  ")
    .trimEnd()}\n`;
}

export function formatSearchFooter(summary: { matched: number; skipped: number; limit: number | undefined }): string {
  const parts = [`${count(summary.matched, "record")} matched`];
  if (summary.limit !== undefined && summary.matched >= summary.limit) parts.push(`stopped at --limit ${summary.limit}`);
  if (summary.skipped > 0) parts.push(`${count(summary.skipped, "line")} skipped that are not JSON records (run verify)`);
  return `${parts.join("; ")}.\n`;
}

function safe(value: unknown): string {
  const text = typeof value === "string" ? value : value === undefined || value === null ? "-" : (JSON.stringify(value) ?? "-");
  return text.replace(UNSAFE_FOR_TERMINAL, "?");
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
