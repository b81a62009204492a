import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../../src/config/load-config.js";
import { PolicyStore } from "../../../src/policy/policy-store.js";
import { captureLogger } from "../../support/capture-logger.js";
import { waitUntil } from "../../support/wait-for.js";

const VALID = (name: string) => `version: 1\ngrants:\n  - { name: ${name}, principals: [all-users], allow: READ }\n`;

function policyFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "policy-store-")), "policy.yaml");
  writeFileSync(file, text);
  return file;
}

/** Waits for the store's polling to see a change (the event, not a guessed sleep). */
function until(condition: () => boolean, what: string): Promise<void> {
  return waitUntil(what, condition, { timeoutMs: 5_000, intervalMs: 20 });
}

describe("policy file at start-up", () => {
  it("loads a valid file into the configuration", () => {
    const config = loadConfig({ GATEWAY_POLICY_FILE: policyFile(VALID("everyone")) }, { repoRoot: "/srv/app" });
    assert.deepEqual(
      config.policy.document.grants.map((g) => g.name),
      ["everyone"],
    );
    assert.ok(config.policy.file?.endsWith("policy.yaml"));
  });

  it("reports the file's problems together with every other configuration problem", () => {
    const file = policyFile("version: 1\ngrants:\n  - { name: x, principals: [bob], allow: WRITE }\n");
    let error: unknown;
    try {
      loadConfig({ GATEWAY_POLICY_FILE: file, GATEWAY_READERS: "rita@example.com", PORT: "banana" }, { repoRoot: "/srv/app" });
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof ConfigError);
    const text = error.message;
    assert.match(text, /GATEWAY_POLICY_FILE: .*grants\[0\]\.principals\[0\]: "bob" is not a principal/);
    assert.match(text, /GATEWAY_POLICY_FILE: .*grants\[0\]\.allow: "WRITE" is not one of/);
    assert.match(text, /GATEWAY_READERS: is set together with a policy file/);
    assert.match(text, /PORT/);
  });

  it("names a file that cannot be read, and refuses both a file and inline YAML", () => {
    assert.throws(
      () => loadConfig({ GATEWAY_POLICY_FILE: "/nonexistent/policy.yaml" }, { repoRoot: "/srv/app" }),
      /policy\.yaml, file: cannot be read \(ENOENT\)/,
    );
    assert.throws(
      () => loadConfig({ GATEWAY_POLICY_FILE: policyFile(VALID("a")), GATEWAY_POLICY: VALID("b") }, { repoRoot: "/srv/app" }),
      /GATEWAY_POLICY: is set together with GATEWAY_POLICY_FILE/,
    );
  });

  it("takes the policy's YAML from GATEWAY_POLICY (a secret)", () => {
    const config = loadConfig({ GATEWAY_POLICY: VALID("from-secret") }, { repoRoot: "/srv/app" });
    assert.equal(config.policy.document.grants[0]?.name, "from-secret");
    assert.equal(config.policy.file, undefined);
  });
});

describe("policy reload", () => {
  it("applies a valid change without a restart, and keeps the last valid policy when a change is invalid", async () => {
    const file = policyFile(VALID("first"));
    const config = loadConfig({ GATEWAY_POLICY_FILE: file }, { repoRoot: "/srv/app" });
    const { logger, lines } = captureLogger();
    const store = new PolicyStore(config.policy.document, { file, logger });
    const seen: string[] = [];
    store.onChange((policy) => seen.push(policy.grants[0]?.name ?? ""));
    store.start(25);
    try {
      writeFileSync(file, VALID("second-version"));
      await until(() => store.current().grants[0]?.name === "second-version", "the valid change");
      // Listeners hear the policy read at start (normally unchanged), then the change.
      assert.deepEqual(seen, ["first", "second-version"]);
      assert.ok(lines.some((l) => l["message"] === "policy reloaded"));
      assert.equal(store.check().ok, true);
      assert.doesNotMatch(store.check().detail, /refused/);

      writeFileSync(file, "version: 1\ngrants:\n  - { name: broken, principals: [nobody], allow: READ }\n");
      await until(() => lines.some((l) => l["message"] === "the changed policy file was refused; the previous policy stays in force"), "the refusal");
      assert.equal(store.current().grants[0]?.name, "second-version", "the previous policy stays in force");
      const readiness = store.check();
      assert.equal(readiness.ok, true, "still serving on the last valid policy");
      assert.match(readiness.detail, /was refused: grants\[0\]\.principals\[0\]: "nobody" is not a principal/);

      writeFileSync(file, VALID("third"));
      await until(() => store.current().grants[0]?.name === "third", "recovery");
      assert.doesNotMatch(store.check().detail, /refused/);
    } finally {
      store.stop();
    }
  });
});
