/**
 * Reads the advisory reports of `npm audit --omit=dev --json` and `pip-audit --format json`
 * and decides: a known vulnerability in a runtime dependency fails the suite unless the
 * reviewed allowlist (supply-chain-allowlist.json) names it with a reason. npm findings
 * fail from severity "high"; pip-audit's carry no severity (PyPI's advisories have none),
 * so every Python finding fails until it is reviewed.
 *
 * A report that could not be made (the advisory service unreachable, an error answer) is
 * "not checked", said loudly, never read as clean: `npm audit --json` exits 0 with an error
 * object when the registry refuses its request, and pip-audit skips a package it cannot
 * look up.
 */

export interface AllowlistEntry {
  /** The advisory id (GHSA-..., PYSEC-..., CVE-...) or the npm advisory URL. */
  advisory: string;
  package: string;
  reason: string;
  reviewed_by: string;
  /** YYYY-MM-DD: after this day the entry no longer applies, and the finding fails again. */
  expires: string;
}

export interface Finding {
  ecosystem: "npm" | "pypi";
  package: string;
  version: string | undefined;
  advisory: string;
  severity: string;
  title: string;
}

export interface EcosystemReport {
  ecosystem: "npm" | "pypi";
  checked: boolean;
  /** Why it was not checked, or what was checked. */
  detail: string;
  findings: Finding[];
}

const FAILING_NPM_SEVERITIES = new Set(["high", "critical"]);

export function readNpmAudit(json: string): EcosystemReport {
  let parsed: {
    error?: { summary?: string; detail?: string };
    message?: string;
    statusCode?: number;
    vulnerabilities?: Record<
      string,
      { name?: string; severity?: string; range?: string; via?: Array<string | { source?: number; title?: string; url?: string; severity?: string }> }
    >;
    metadata?: { dependencies?: { prod?: number } };
  };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch {
    return { ecosystem: "npm", checked: false, detail: "npm audit printed no JSON report", findings: [] };
  }
  if (parsed.error !== undefined || parsed.vulnerabilities === undefined) {
    const why = parsed.message ?? parsed.error?.summary ?? "no report";
    return { ecosystem: "npm", checked: false, detail: `the registry's advisory service did not answer: ${why.slice(0, 200)}`, findings: [] };
  }
  const findings: Finding[] = [];
  for (const [name, vulnerability] of Object.entries(parsed.vulnerabilities)) {
    for (const via of vulnerability.via ?? []) {
      // A string names another vulnerable package this one depends on: that one has its own entry.
      if (typeof via === "string") continue;
      findings.push({
        ecosystem: "npm",
        package: name,
        version: vulnerability.range,
        advisory: via.url ?? String(via.source ?? "unknown"),
        severity: via.severity ?? vulnerability.severity ?? "unknown",
        title: via.title ?? "",
      });
    }
  }
  return { ecosystem: "npm", checked: true, detail: `${parsed.metadata?.dependencies?.prod ?? "?"} runtime packages checked`, findings };
}

export function readPipAudit(json: string): EcosystemReport {
  let parsed: {
    dependencies?: Array<{
      name: string;
      version?: string;
      skip_reason?: string;
      vulns?: Array<{ id: string; aliases?: string[]; description?: string }>;
    }>;
  };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch {
    return { ecosystem: "pypi", checked: false, detail: "pip-audit printed no JSON report", findings: [] };
  }
  const dependencies = parsed.dependencies ?? [];
  const skipped = dependencies.filter((d) => d.skip_reason !== undefined);
  const findings: Finding[] = dependencies.flatMap((d) =>
    (d.vulns ?? []).map((v) => ({
      ecosystem: "pypi" as const,
      package: d.name,
      version: d.version,
      advisory: v.id,
      severity: "unrated",
      title: (v.description ?? v.aliases?.join(", ") ?? "").slice(0, 120),
    })),
  );
  if (dependencies.length === 0 || skipped.length === dependencies.length) {
    const why = skipped[0]?.skip_reason ?? "no dependency in the report";
    return { ecosystem: "pypi", checked: false, detail: `PyPI's vulnerability data was not reachable: ${why.slice(0, 200)}`, findings };
  }
  const partly = skipped.length > 0 ? `; ${skipped.length} not checked (${skipped.map((d) => d.name).join(", ")})` : "";
  return { ecosystem: "pypi", checked: skipped.length === 0, detail: `${dependencies.length - skipped.length} packages checked${partly}`, findings };
}

/** The findings that fail the suite: failing severity, not allowlisted by a current entry. */
export function failingFindings(reports: readonly EcosystemReport[], allowlist: readonly AllowlistEntry[], today: string): Finding[] {
  const current = allowlist.filter((entry) => entry.expires >= today);
  return reports
    .flatMap((report) => report.findings)
    .filter((finding) => finding.ecosystem === "pypi" || FAILING_NPM_SEVERITIES.has(finding.severity))
    .filter((finding) => !current.some((entry) => entry.package === finding.package && finding.advisory.includes(entry.advisory)));
}

/** Problems with the allowlist itself (every entry needs a reason, a reviewer and an end). */
export function allowlistProblems(allowlist: readonly AllowlistEntry[]): string[] {
  return allowlist.flatMap((entry, index) => {
    const problems: string[] = [];
    for (const field of ["advisory", "package", "reason", "reviewed_by"] as const) {
      if (typeof entry[field] !== "string" || entry[field].trim() === "") problems.push(`entry ${index}: ${field} is missing`);
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(entry.expires ?? "")) problems.push(`entry ${index}: expires must be a date (YYYY-MM-DD)`);
    return problems;
  });
}
