import { once } from "node:events";
import { parseArgs } from "node:util";
import { type AUDIT_QUERY_PARAMETERS, auditQueryMatcher, parseAuditQuery } from "../audit/audit-query.js";
import type { AuditRecord } from "../audit/audit-record.js";
import { AuditSourceError, openAuditSources } from "../audit/read-audit-sources.js";
import type { DigestKey } from "../audit/digest-keys.js";
import { ChainVerifier } from "../audit/verify-chain.js";
import { MIN_HMAC_KEY_LENGTH } from "../config/audit-config.js";
import { EnvReader } from "../config/env-reader.js";
import { formatSearchFooter, formatSearchHeader, formatSearchRow, formatVerifyReport } from "./audit-report.js";

/**
 * The compliance reviewer's tool: `verify` proves an audit trail is complete and unaltered,
 * `search` finds who did what. Exit codes: 0 done (verify: no problem), 1 verify found a
 * problem, 2 the command could not run (usage, missing source, workspace unreachable).
 */

export const DEFAULT_KEY_ENV = "GATEWAY_AUDIT_HMAC_KEY";
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const HELP = `Usage: npm run audit -- <command> [options]

Commands:
  verify <sources...> [--key-env NAME]...
      Checks that the audit records are complete and unaltered: every record's hash,
      its link to the record before it, the sequence of each stream, and every signed
      digest. The key is read from GATEWAY_AUDIT_HMAC_KEY (or the variable --key-env
      names); without one, digests are checked for shape only and the output says so.
      After a key rotation, give --key-env once per key (the current and the retired
      ones): a digest is sound when one of them verifies it, and each stream names the
      variable whose key signed it.
      Exit code 0: no problem found; 1: problems found (each names file:line, stream,
      seq and kind); 2: the check could not run.

  search <sources...> [--person X] [--action A,B] [--object O] [--outcome deny]
                      [--since 7d] [--until 2026-11-28] [--limit N] [--format table|json]
      Prints the matching events (digests are never printed). It does not verify:
      run verify first. --format json prints the records as JSON lines.
        --person   email, user name or subject, any case ("alice" also matches alice@...)
        --action   MLflow operation names, any case, comma separated (DeleteRun,DeleteExperiment)
        --object   a run id, experiment id or name, model name..., field=value for one field
                   (run_id=abc), or an artifact path folder (1/abc/artifacts/model)
        --outcome  allow, deny, 403, 5xx or an MLflow error code (RESOURCE_DOES_NOT_EXIST);
                   comma separated means any of them
        --since    inclusive; ISO 8601 (2026-11-21, 2026-11-21T09:00:00Z; UTC when no zone)
                   or a span back from now (30m, 24h, 7d, 2w)
        --until    exclusive; same forms

Sources: local audit files or directories (read recursively, *.jsonl), or volume paths
(/Volumes/<catalog>/<schema>/<volume>/... or dbfs:/Volumes/...) read through the Files API
with DATABRICKS_HOST and DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET (or DATABRICKS_TOKEN).

Examples:
  npm run audit -- verify .data/audit
  npm run audit -- verify /Volumes/main/mlflow/audit --key-env AUDIT_KEY
  npm run audit -- verify .data/audit --key-env GATEWAY_AUDIT_HMAC_KEY --key-env AUDIT_KEY_RETIRED
  npm run --silent audit -- search /Volumes/main/mlflow/audit --action DeleteRun --since 7d
  npm run --silent audit -- search .data/audit --person alice@example.com --outcome deny --format json
`;

/** The query's parameters (audit-query.ts), spelt as options, and the output format. */
const SEARCH_OPTIONS = {
  person: { type: "string" },
  action: { type: "string" },
  object: { type: "string" },
  outcome: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  limit: { type: "string" },
  format: { type: "string" },
} as const satisfies Record<(typeof AUDIT_QUERY_PARAMETERS)[number] | "format", { type: "string" }>;

class UsageError extends Error {
  override readonly name = "UsageError";
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined) {
    await write(process.stderr, HELP);
    return 2;
  }
  if (command === "--help" || command === "-h" || command === "help" || rest.includes("--help") || rest.includes("-h")) {
    await write(process.stdout, HELP);
    return 0;
  }
  try {
    if (command === "verify") return await verify(rest);
    if (command === "search") return await search(rest);
    throw new UsageError(`unknown command ${JSON.stringify(command)}; use verify or search.`);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      await write(process.stderr, `audit: ${(error as Error).message}\nRun \`npm run audit -- --help\` for usage.\n`);
      return 2;
    }
    if (error instanceof AuditSourceError) {
      await write(process.stderr, `audit: ${error.message}\nNothing was concluded.\n`);
      return 2;
    }
    // Exit code 1 means "problems found"; a crash must not read as a verdict.
    await write(
      process.stderr,
      `audit: unexpected failure, nothing was concluded: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 2;
  }
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { "key-env": { type: "string", multiple: true } },
  });
  if (positionals.length === 0) throw new UsageError("verify needs at least one audit file, directory or volume path.");
  const keys = readKeys(values["key-env"]);

  const sources = await openAuditSources(positionals);
  const verifier = new ChainVerifier(keys);
  for await (const line of sources.lines()) verifier.check(line.text, { source: line.source, line: line.line });
  const result = verifier.finish();
  await write(
    process.stdout,
    formatVerifyReport(result, { files: sources.files.length, keyEnvs: keys.map((k) => k.name), defaultKeyEnv: DEFAULT_KEY_ENV }),
  );
  return result.ok ? 0 : 1;
}

/**
 * The keys of the variables --key-env names, in the order given (a name given twice counts
 * once); without --key-env, GATEWAY_AUDIT_HMAC_KEY's when it is set. A named variable must be
 * set: a reviewer who names a retired key and gets a check without it would conclude too much.
 */
function readKeys(names: readonly string[] | undefined): DigestKey[] {
  if (names === undefined || names.length === 0) {
    const key = readKey(DEFAULT_KEY_ENV);
    return key === undefined ? [] : [{ name: DEFAULT_KEY_ENV, key }];
  }
  return [...new Set(names)].map((name) => {
    const key = readKey(name);
    if (key === undefined)
      throw new UsageError(`--key-env ${name}: ${name} is not set; set it to a digest key the gateway used, or leave --key-env out.`);
    return { name, key };
  });
}

/**
 * The digest key as the gateway reads it (audit-config.ts: trimmed, used as UTF-8 bytes).
 * Its value is never printed.
 */
function readKey(name: string): Buffer | undefined {
  if (!ENV_NAME.test(name)) throw new UsageError(`--key-env ${JSON.stringify(name)} is not an environment variable name.`);
  const value = new EnvReader(process.env, []).string(name);
  if (value === undefined) return undefined;
  // The gateway refuses shorter keys at start-up, so a shorter one cannot have signed these digests.
  if (value.length < MIN_HMAC_KEY_LENGTH) {
    throw new UsageError(
      `${name} is shorter than ${MIN_HMAC_KEY_LENGTH} characters; the gateway refuses such keys, so it cannot have signed these digests.`,
    );
  }
  return Buffer.from(value, "utf8");
}

async function search(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: SEARCH_OPTIONS });
  if (positionals.length === 0) throw new UsageError("search needs at least one audit file, directory or volume path.");
  const format = values.format ?? "table";
  if (format !== "table" && format !== "json") throw new UsageError(`--format ${JSON.stringify(format)}: use table or json.`);
  const { query, problems } = parseAuditQuery((name) => values[name as keyof typeof values]);
  if (problems.length > 0) throw new UsageError(problems.map((problem) => `--${problem}`).join("\n       "));

  const sources = await openAuditSources(positionals);
  const matches = auditQueryMatcher(query);
  let matched = 0;
  let skipped = 0;
  if (format === "table") await write(process.stdout, formatSearchHeader());
  for await (const line of sources.lines()) {
    if (query.limit !== undefined && matched >= query.limit) break;
    const text = line.text.trim();
    if (text === "") continue;
    const record = parseRecord(text);
    if (record === undefined) {
      skipped += 1;
      continue;
    }
    if (!matches(record)) continue;
    matched += 1;
    await write(process.stdout, format === "json" ? `${text}\n` : formatSearchRow(record));
  }
  const footer = formatSearchFooter({ matched, skipped, limit: query.limit });
  await write(format === "json" ? process.stderr : process.stdout, footer);
  return 0;
}

function parseRecord(text: string): AuditRecord | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as AuditRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Honours back-pressure, so a long search piped into a slow reader does not pile up in memory. */
async function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, "drain");
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

// `search ... | head` closes the pipe early; that is the reader's choice, not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  process.stderr.write(`audit: cannot write the output (${error.code ?? error.message}); nothing was concluded.\n`);
  process.exit(2);
});

process.exitCode = await main(process.argv.slice(2));
