import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allowlistProblems, failingFindings, readNpmAudit, readPipAudit } from "../../../scripts/supply-chain/assess.js";

// Report shapes as npm 11 (`npm audit --json`, auditReportVersion 2) and pip-audit 2.10
// (`--format json`) print them.
const NPM_FINDINGS = JSON.stringify({
  auditReportVersion: 2,
  vulnerabilities: {
    "path-to-regexp": {
      name: "path-to-regexp",
      severity: "high",
      range: "<0.1.12",
      via: [
        { source: 1101850, title: "path-to-regexp contains a ReDoS", url: "https://github.com/advisories/GHSA-rhx6-c78j-4q9w", severity: "high" },
      ],
    },
    express: { name: "express", severity: "high", range: "4.0.0 - 4.21.1", via: ["path-to-regexp"] },
    cookie: {
      name: "cookie",
      severity: "low",
      range: "<0.7.0",
      via: [{ source: 1, title: "cookie out of bounds", url: "https://github.com/advisories/GHSA-pxg6-pf52-xh8x", severity: "low" }],
    },
  },
  metadata: { dependencies: { prod: 120 } },
});
const NPM_REFUSED = JSON.stringify({
  message: "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
  statusCode: 405,
  error: { summary: "", detail: "" },
});
const PIP_FINDINGS = JSON.stringify({
  dependencies: [
    { name: "flask", version: "3.1.0", vulns: [] },
    { name: "jinja2", version: "3.1.4", vulns: [{ id: "GHSA-q2x7-8rv6-6q7h", aliases: ["CVE-2024-56326"], description: "sandbox breakout" }] },
  ],
  fixes: [],
});
const PIP_UNREACHABLE = JSON.stringify({
  dependencies: [
    { name: "flask", skip_reason: "Dependency not found on PyPI and could not be audited: flask (3.1.0)" },
    { name: "jinja2", skip_reason: "Dependency not found on PyPI and could not be audited: jinja2 (3.1.4)" },
  ],
});

describe("the supply-chain report", () => {
  it("fails on a high npm finding and a Python one, not on a low npm one or on the package that only depends on the vulnerable one", () => {
    const reports = [readNpmAudit(NPM_FINDINGS), readPipAudit(PIP_FINDINGS)];
    assert.deepEqual(
      reports.map((r) => r.checked),
      [true, true],
    );
    const failing = failingFindings(reports, [], "2026-12-03");
    assert.deepEqual(
      failing.map((f) => `${f.ecosystem}:${f.package}`),
      ["npm:path-to-regexp", "pypi:jinja2"],
    );
  });

  it("lets a reviewed allowlist entry pass its finding until it expires", () => {
    const reports = [readNpmAudit(NPM_FINDINGS)];
    const entry = {
      advisory: "GHSA-rhx6-c78j-4q9w",
      package: "path-to-regexp",
      reason: "not reachable: routes are fixed",
      reviewed_by: "platform team",
      expires: "2026-12-31",
    };
    assert.deepEqual(failingFindings(reports, [entry], "2026-12-03"), []);
    assert.equal(failingFindings(reports, [entry], "2027-01-01").length, 1, "an expired entry no longer applies");
  });

  it("says NOT CHECKED, never clean, when the advisory service refuses or skips every package", () => {
    const npm = readNpmAudit(NPM_REFUSED);
    assert.equal(npm.checked, false);
    assert.match(npm.detail, /405 Method Not Allowed/);
    const pypi = readPipAudit(PIP_UNREACHABLE);
    assert.equal(pypi.checked, false);
    assert.match(pypi.detail, /not found on PyPI/);
    assert.equal(readNpmAudit("not json").checked, false);
  });

  it("names what an allowlist entry lacks", () => {
    assert.deepEqual(allowlistProblems([{ advisory: "GHSA-x", package: "p", reason: "", reviewed_by: "me", expires: "soon" }]), [
      "entry 0: reason is missing",
      "entry 0: expires must be a date (YYYY-MM-DD)",
    ]);
  });
});
