/**
 * `npm run supply-chain`: the pinned dependencies against the public advisories, run by the
 * test command as a report. Exits 1 when a runtime dependency has a known vulnerability
 * (npm: high or critical; PyPI: any, as its advisories carry no severity) that the reviewed
 * allowlist does not name, or when the allowlist itself is malformed. An advisory service
 * that cannot be reached is reported as NOT CHECKED, never as clean (see assess.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { type AllowlistEntry, allowlistProblems, type EcosystemReport, failingFindings, readNpmAudit, readPipAudit } from "./assess.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ALLOWLIST = path.join(root, "supply-chain-allowlist.json");

async function npmReport(): Promise<EcosystemReport> {
  const audit = await execa("npm", ["audit", "--omit=dev", "--json"], { cwd: root, reject: false, timeout: 120_000 });
  return readNpmAudit(audit.stdout);
}

async function pypiReport(): Promise<EcosystemReport> {
  const python = path.join(root, ".venv/bin/python");
  if (!existsSync(python)) return { ecosystem: "pypi", checked: false, detail: "no .venv (run scripts/setup.sh)", findings: [] };
  // --local: every package installed in the app's virtualenv (requirements.txt and what it
  // pulled in; the test-only packages too, which is stricter than needed).
  const audit = await execa(python, ["-m", "pip_audit", "--local", "--format", "json", "--progress-spinner", "off"], {
    cwd: root,
    reject: false,
    timeout: 300_000,
  });
  if (/No module named pip_audit/.test(audit.stderr)) {
    return { ecosystem: "pypi", checked: false, detail: "pip-audit is not installed (scripts/setup.sh --with-test-deps)", findings: [] };
  }
  return readPipAudit(audit.stdout);
}

const allowlist = JSON.parse(readFileSync(ALLOWLIST, "utf8")) as { entries: AllowlistEntry[] };
const problems = allowlistProblems(allowlist.entries);
const reports = await Promise.all([npmReport(), pypiReport()]);
const failing = failingFindings(reports, allowlist.entries, new Date().toISOString().slice(0, 10));

for (const report of reports) {
  const state = report.checked ? "checked" : "NOT CHECKED";
  console.log(`${report.ecosystem}: ${state}: ${report.detail}; ${report.findings.length} known vulnerabilities`);
  for (const finding of report.findings) {
    const mark = failing.includes(finding) ? "FAILS" : "allowed or below high";
    console.log(`  ${finding.package} ${finding.version ?? ""} ${finding.advisory} (${finding.severity}) ${finding.title} [${mark}]`);
  }
}
for (const problem of problems) console.log(`supply-chain-allowlist.json: ${problem}`);
if (failing.length > 0 || problems.length > 0) {
  console.log(
    `${failing.length} finding(s) fail the suite. Fix: upgrade the package, or add it to supply-chain-allowlist.json with the advisory, a reason, a reviewer and an expiry date.`,
  );
  process.exit(1);
}
