import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import type { AuditEventRecord, AuditRecord } from "../../src/audit/audit-record.js";
import { REPO_ROOT } from "./gateway-process.js";
import { waitFor } from "./wait-for.js";

/** Every line of the audit files in `dir`, in file-name order (one stream per gateway run). */
export function readAuditLines(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith("audit-") && name.endsWith(".jsonl"))
    .sort()
    .flatMap((name) =>
      readFileSync(path.join(dir, name), "utf8")
        .split("\n")
        .filter((line) => line !== ""),
    );
}

export function readAuditEvents(dir: string): AuditEventRecord[] {
  return readAuditLines(dir)
    .map((line, index) => {
      try {
        return JSON.parse(line) as AuditRecord;
      } catch {
        // A torn line is a defect of the sink, not a reason to wait longer: say which line.
        throw new Error(`audit line ${index + 1} in ${dir} is not JSON: ${line.slice(0, 120)}`);
      }
    })
    .filter((record): record is AuditEventRecord => record.type === "event");
}

/** Waits until the audit files hold events for all of `requestIds` (the file sink writes within milliseconds). */
export async function waitForAuditEvents(dir: string, requestIds: readonly string[], timeoutMs = 10_000): Promise<AuditEventRecord[]> {
  let missing: readonly string[] = requestIds;
  try {
    return await waitFor(
      "audit events",
      () => {
        const events = readAuditEvents(dir);
        const seen = new Set(events.map((e) => e.request_id));
        missing = requestIds.filter((id) => !seen.has(id));
        return missing.length === 0 ? events : undefined;
      },
      { timeoutMs },
    );
  } catch (error) {
    if (!(error as Error).message.startsWith("timed out")) throw error;
    throw new Error(`no audit event for ${missing.length} request(s), e.g. ${missing.slice(0, 3).join(", ")}`);
  }
}

/** Runs `npm run audit -- <args>` the way a reviewer would (from source, so no build is needed). */
export async function runAuditCli(args: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "src/cli/audit.ts"), ...args], {
    cwd: REPO_ROOT,
    env,
    reject: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
