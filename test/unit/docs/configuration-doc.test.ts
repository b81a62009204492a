import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT as ROOT } from "../../support/gateway-process.js";
import { gatewayVariables } from "../../support/gateway-variables.js";

/** The variables named in the first column of docs/configuration.md's table. */
function variablesDocumented(): Set<string> {
  const rows = readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8")
    .split("\n")
    .filter((line) => line.startsWith("| `"));
  return new Set(rows.flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1] ?? "")));
}

describe("docs/configuration.md cannot drift from the configuration module", () => {
  const read = gatewayVariables();
  const documented = variablesDocumented();

  it("finds the variables on both sides (so the checks below can fail)", () => {
    assert.ok(read.has("GATEWAY_LOG_FORMAT") && read.has("DATABRICKS_HOST") && read.size >= 40, [...read].join(","));
    assert.ok(documented.has("GATEWAY_LOG_FORMAT") && documented.size >= 40, [...documented].join(","));
  });

  it("documents every variable the gateway reads", () => {
    assert.deepEqual(
      [...read].filter((name) => !documented.has(name)),
      [],
    );
  });

  it("documents no gateway variable the gateway no longer reads", () => {
    assert.deepEqual(
      [...documented].filter((name) => name.startsWith("GATEWAY_") && !read.has(name)),
      [],
    );
  });
});
