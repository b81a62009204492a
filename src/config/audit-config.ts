import path from "node:path";
import type { ConfigProblem, EnvReader } from "./env-reader.js";
import { show } from "./env-reader.js";
import { Secret } from "./secret.js";

export type AuditSinkKind = "stdout" | "file" | "volume";
/** What the gateway does when it cannot record events durably. */
export type AuditFailurePolicy = "refuse-writes" | "refuse-all" | "allow";

export interface AuditConfig {
  sinks: readonly AuditSinkKind[];
  /** Local audit files, and the spool of volume batches not yet delivered. */
  dir: string;
  /** `/Volumes/<catalog>/<schema>/<volume>[/<prefix>]`, without a trailing slash. */
  volumePath: string | undefined;
  /** Signs the periodic digests; undefined in local mode means "generate and keep one in dir". */
  hmacKey: Secret | undefined;
  onFailure: AuditFailurePolicy;
  fileMaxBytes: number;
  fsyncIntervalMs: number;
  batchMaxEvents: number;
  batchIntervalMs: number;
  spoolMaxBytes: number;
  digestIntervalMs: number;
}

const SINKS: readonly AuditSinkKind[] = ["stdout", "file", "volume"];
const FAILURE_POLICIES: readonly AuditFailurePolicy[] = ["refuse-writes", "refuse-all", "allow"];
export const MIN_HMAC_KEY_LENGTH = 32;
const MB = 1024 * 1024;
/** Catalog, schema and volume names: letters, digits, underscores, hyphens (UC identifiers). */
const VOLUME_PATH = /^\/Volumes\/[\w-]+\/[\w-]+\/[\w-]+(\/[\w.=-]+)*$/;

/**
 * Secure defaults: Databricks mode writes to stdout (captured by Databricks Apps) and local
 * files, plus the Unity Catalog volume when one is named; a local run writes files only.
 * Digests need a key the reader can trust: in Databricks mode it must come from a secret.
 */
export function readAudit(
  reader: EnvReader,
  problems: ConfigProblem[],
  context: { databricksMode: boolean; dataDir: string | undefined; repoRoot: string },
): AuditConfig {
  const volumeRaw = reader.string("GATEWAY_AUDIT_VOLUME");
  const volumePath = volumeRaw?.replace(/^dbfs:/, "").replace(/\/+$/, "");
  if (volumePath !== undefined && !VOLUME_PATH.test(volumePath)) {
    problems.push({
      variable: "GATEWAY_AUDIT_VOLUME",
      message: `${show(volumeRaw ?? "")} is not a Unity Catalog volume path.`,
      fix: "give /Volumes/<catalog>/<schema>/<volume> (optionally followed by a folder), e.g. /Volumes/main/mlflow/audit.",
    });
  }

  const defaultSinks: AuditSinkKind[] = context.databricksMode ? ["stdout", "file"] : ["file"];
  if (volumePath !== undefined) defaultSinks.push("volume");
  const sinks = readSinks(reader, problems, defaultSinks);
  if (sinks.includes("volume") && volumePath === undefined) {
    problems.push({
      variable: "GATEWAY_AUDIT_SINKS",
      message: "includes 'volume' but GATEWAY_AUDIT_VOLUME is not set.",
      fix: "set GATEWAY_AUDIT_VOLUME=/Volumes/<catalog>/<schema>/<volume>, or remove 'volume' from GATEWAY_AUDIT_SINKS.",
    });
  }
  if (sinks.includes("volume") && !context.databricksMode) {
    problems.push({
      variable: "GATEWAY_AUDIT_VOLUME",
      message: "needs Databricks mode: the volume is written as the app's service principal.",
      fix: "set MLFLOW_TRACKING_URI=databricks with the workspace credentials, or unset GATEWAY_AUDIT_VOLUME.",
    });
  }

  const keyRaw = reader.string("GATEWAY_AUDIT_HMAC_KEY");
  if (keyRaw !== undefined && keyRaw.length < MIN_HMAC_KEY_LENGTH) {
    problems.push({
      variable: "GATEWAY_AUDIT_HMAC_KEY",
      message: `is ${keyRaw.length} characters long; digests signed with a short key can be forged.`,
      fix: `use at least ${MIN_HMAC_KEY_LENGTH} random characters (e.g. \`openssl rand -hex 32\`), from a Databricks secret.`,
    });
  } else if (keyRaw === undefined && context.databricksMode) {
    problems.push({
      variable: "GATEWAY_AUDIT_HMAC_KEY",
      message: "is not set; the audit trail's signed digests need a key kept outside the app's files.",
      fix: "store `openssl rand -hex 32` as a Databricks secret and map it in app.yaml (valueFrom: a secret resource).",
    });
  }

  const defaultDir = context.dataDir !== undefined ? path.join(context.dataDir, "audit") : path.join(context.repoRoot, ".audit");
  const mb = (name: string, fallback: number, min: number, max: number): number =>
    (reader.integer(name, fallback, { min, max, what: `a size in MB (${min}-${max})` }) ?? fallback) * MB;
  const ms = (name: string, fallback: number, min: number, max: number): number =>
    reader.integer(name, fallback, { min, max, what: `milliseconds (${min}-${max})` }) ?? fallback;

  return {
    sinks,
    dir: path.resolve(reader.string("GATEWAY_AUDIT_DIR") ?? defaultDir),
    volumePath: sinks.includes("volume") ? volumePath : undefined,
    hmacKey: keyRaw === undefined ? undefined : new Secret(keyRaw),
    onFailure: reader.oneOf("GATEWAY_AUDIT_ON_FAILURE", FAILURE_POLICIES, "refuse-writes"),
    fileMaxBytes: mb("GATEWAY_AUDIT_FILE_MAX_MB", 100, 1, 10_240),
    fsyncIntervalMs: ms("GATEWAY_AUDIT_FSYNC_MS", 1_000, 10, 60_000),
    batchMaxEvents: reader.integer("GATEWAY_AUDIT_BATCH_MAX_EVENTS", 1_000, { min: 1, max: 100_000, what: "an event count (1-100000)" }) ?? 1_000,
    batchIntervalMs: ms("GATEWAY_AUDIT_BATCH_MS", 5_000, 50, 600_000),
    // Decimal, so a test (or a tiny disk) can set a bound of a few kilobytes.
    spoolMaxBytes: Math.round(
      reader.decimal("GATEWAY_AUDIT_SPOOL_MAX_MB", 1_024, { min: 0.01, max: 1_048_576, what: "a size in MB (0.01-1048576)" }) * MB,
    ),
    digestIntervalMs: ms("GATEWAY_AUDIT_DIGEST_MS", 60_000, 100, 3_600_000),
  };
}

function readSinks(reader: EnvReader, problems: ConfigProblem[], fallback: AuditSinkKind[]): AuditSinkKind[] {
  const raw = reader.string("GATEWAY_AUDIT_SINKS");
  if (raw === undefined) return fallback;
  const names = raw
    .toLowerCase()
    .split(/[\s,]+/)
    .filter(Boolean);
  const unknown = names.filter((name) => !SINKS.includes(name as AuditSinkKind));
  if (unknown.length > 0 || names.length === 0) {
    problems.push({
      variable: "GATEWAY_AUDIT_SINKS",
      message: `${show(raw)} names ${unknown.length > 0 ? `unknown sinks (${unknown.map(show).join(", ")})` : "no sink"}.`,
      fix: `list one or more of ${SINKS.join(", ")}, comma separated; the audit trail cannot be switched off.`,
    });
    return fallback;
  }
  return [...new Set(names as AuditSinkKind[])];
}
