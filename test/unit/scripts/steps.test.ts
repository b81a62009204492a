import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { execa } from "execa";

const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");
const STEPS = path.join(REPO_ROOT, "scripts/lib/steps.sh");
const scratch = mkdtempSync(path.join(tmpdir(), "steps-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function runBash(script: string, env: Record<string, string> = {}) {
  return execa("bash", ["-c", script], { reject: false, env, all: true, stripFinalNewline: false });
}

describe("set-up and test steps", () => {
  it("say how long each step took and how long all of them took", async () => {
    const result = await runBash(
      `set -Eeuo pipefail; source ${STEPS}; step "Installing things"; echo working; step "Building"; steps_done "Set-up done"`,
    );
    assert.equal(result.exitCode, 0);
    assert.match(result.all, /==> Installing things\nworking\n {4}\(\d+ s\)\n\n==> Building\n {4}\(\d+ s\)\n\nSet-up done in \d+ s\n$/);
  });

  it("name the step that failed, its exit status and the command to run again", async () => {
    const result = await runBash(
      `set -Eeuo pipefail; RETRY_COMMAND="npm run local"; source ${STEPS}; step "Installing npm packages"; helper() { false; }; helper; echo never`,
    );
    assert.equal(result.exitCode, 1);
    assert.doesNotMatch(result.all, /never/);
    assert.match(
      result.stderr,
      /^\nFailed: Installing npm packages after \d+ s \(exit status 1\)\.\nThe output above says why; fix it, then run again: npm run local\n$/,
    );
  });

  it("setup.sh names what is missing and the command the user typed", async () => {
    // A checkout whose npm packages are installed and whose virtualenv is not, on a machine without the Python it asks for.
    const checkout = path.join(scratch, "checkout");
    mkdirSync(path.join(checkout, "scripts/lib"), { recursive: true });
    mkdirSync(path.join(checkout, "node_modules"), { recursive: true });
    cpSync(path.join(REPO_ROOT, "scripts/setup.sh"), path.join(checkout, "scripts/setup.sh"));
    cpSync(STEPS, path.join(checkout, "scripts/lib/steps.sh"));
    writeFileSync(path.join(checkout, "requirements.txt"), "mlflow==0.0.0\n");
    writeFileSync(path.join(checkout, "package-lock.json"), "{}\n");
    writeFileSync(path.join(checkout, "node_modules/.package-lock.json"), "{}\n");
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(checkout, "node_modules/.package-lock.json"), later, later);
    const result = await execa("bash", [path.join(checkout, "scripts/setup.sh")], {
      reject: false,
      stripFinalNewline: false,
      env: { PYTHON: "python3-that-is-not-here", SETUP_RETRY_COMMAND: "npm run local" },
    });
    assert.equal(result.exitCode, 1);
    assert.match(
      result.stderr,
      /Set-up failed: python3-that-is-not-here is not installed\. Install Python 3\.10\+ \(with venv\), or set PYTHON=\/path\/to\/python3\.\nThen run again: npm run local\n$/,
    );
  });
});
