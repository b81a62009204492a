import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT as ROOT } from "../../support/gateway-process.js";

const read = (file: string): string => readFileSync(path.join(ROOT, file), "utf8");

/** The string members of a `type Name = | "A" | "B";` union in a source file. */
function unionMembers(file: string, typeName: string): string[] {
  const match = new RegExp(`export type ${typeName} =([^;]+);`).exec(read(file));
  assert.ok(match, `${file} declares ${typeName}`);
  return [...(match[1] ?? "").matchAll(/"([A-Z_]+)"/g)].map((m) => m[1] ?? "");
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

/** Every check /-/ready can show: the ones sendReadiness adds itself and every ReadinessCheck's name. */
function readinessChecks(): string[] {
  const endpoints = read("src/http/gateway-endpoints.ts");
  const body = /export function sendReadiness[\s\S]*?\n}/.exec(endpoints)?.[0] ?? "";
  const own = [...body.matchAll(/^\s+(\w+): \{ ok:/gm), ...body.matchAll(/checks\["([\w-]+)"\]/g)].map((m) => m[1] ?? "");
  const named = sourceFiles("src")
    .map(read)
    .filter((text) => /implements [\w, ]*ReadinessCheck/.test(text))
    .flatMap((text) => [...text.matchAll(/readonly name = "([\w-]+)"/g)].map((m) => m[1] ?? ""));
  return [...own, ...named];
}

/** `### \`CODE\`` headings and the parts each entry must have. */
function entries(): Map<string, string> {
  const doc = read("docs/troubleshooting.md");
  const found = new Map<string, string>();
  for (const section of doc.split(/^### /m).slice(1)) {
    const heading = /^`([\w-]+)`/.exec(section);
    assert.ok(heading, `a troubleshooting heading is a code in backticks: ${section.slice(0, 60)}`);
    found.set(heading[1] ?? "", section);
  }
  return found;
}

const gatewayCodes = unionMembers("src/errors.ts", "GatewayErrorCode");
const auditCliCodes = unionMembers("src/audit/read-audit-sources.ts", "AuditSourceErrorCode");
const checks = readinessChecks();

describe("docs/troubleshooting.md cannot drift from the code", () => {
  it("reads the codes and checks from src/ (so the checks below can fail)", () => {
    assert.ok(gatewayCodes.length >= 30 && gatewayCodes.includes("AUDIT_UNAVAILABLE"), gatewayCodes.join(","));
    assert.ok(auditCliCodes.includes("NO_AUDIT_FILES"), auditCliCodes.join(","));
    for (const name of ["configuration", "mlflow", "lifecycle", "databricks", "audit", "audit-volume", "policy"]) {
      assert.ok(checks.includes(name), `readiness check ${name} found in src/: ${checks.join(",")}`);
    }
  });

  it("has an entry with symptom, where to look, cause and fix for every code and readiness check", () => {
    const documented = entries();
    const missing = [...gatewayCodes, ...auditCliCodes, ...checks].filter((code) => !documented.has(code));
    assert.deepEqual(missing, [], "codes without a troubleshooting entry");
    for (const [code, text] of documented) {
      for (const part of ["**Symptom:**", "**Look:**", "**Cause:**", "**Fix:**"]) {
        assert.ok(text.includes(part), `${code} has ${part}`);
      }
    }
  });

  it("has no entry for a code the gateway no longer has", () => {
    const known = new Set([...gatewayCodes, ...auditCliCodes, ...checks]);
    assert.deepEqual(
      [...entries().keys()].filter((code) => !known.has(code)),
      [],
    );
  });

  it("links only to pages that exist", () => {
    const doc = read("docs/troubleshooting.md");
    for (const [, target] of doc.matchAll(/\]\(([^)#]+\.md)\)/g)) {
      assert.doesNotThrow(() => read(path.join("docs", target ?? "")), `docs/${target} exists`);
    }
  });
});
