import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../../src/config/load-config.js";

const defaults = { repoRoot: "/repo" };
const KEY = "unit-test-audit-key-0123456789abcdefgh";
const databricks = {
  MLFLOW_TRACKING_URI: "databricks",
  DATABRICKS_HOST: "https://adb-1.azuredatabricks.net",
  DATABRICKS_TOKEN: "dapi-unit-test",
  GATEWAY_AUDIT_HMAC_KEY: KEY,
};

function problems(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env, defaults);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  return assert.fail("configuration was accepted");
}

describe("audit configuration", () => {
  it("writes local files under the data folder by default, with a generated key and the secure failure policy", () => {
    const config = loadConfig({}, defaults);
    assert.deepEqual(config.audit.sinks, ["file"]);
    assert.equal(config.audit.dir, path.resolve("/repo/.data/audit"));
    assert.equal(config.audit.hmacKey, undefined);
    assert.equal(config.audit.onFailure, "refuse-writes");
    assert.equal(config.audit.volumePath, undefined);
  });

  it("adds stdout in Databricks mode, and the volume when one is named (dbfs: prefix and trailing slash tolerated)", () => {
    const config = loadConfig({ ...databricks, GATEWAY_AUDIT_VOLUME: "dbfs:/Volumes/main/mlflow/audit/" }, defaults);
    assert.deepEqual(config.audit.sinks, ["stdout", "file", "volume"]);
    assert.equal(config.audit.volumePath, "/Volumes/main/mlflow/audit");
    assert.equal(config.audit.hmacKey?.reveal(), KEY);
    assert.equal(JSON.stringify(config.audit.hmacKey), '"[redacted]"');
  });

  const cases: Array<[string, Record<string, string>, string, RegExp]> = [
    ["no digest key in Databricks mode", { ...databricks, GATEWAY_AUDIT_HMAC_KEY: "" }, "GATEWAY_AUDIT_HMAC_KEY", /not set/],
    ["a short digest key", { GATEWAY_AUDIT_HMAC_KEY: "short" }, "GATEWAY_AUDIT_HMAC_KEY", /5 characters long/],
    ["an unknown sink", { GATEWAY_AUDIT_SINKS: "file,syslog" }, "GATEWAY_AUDIT_SINKS", /unknown sinks \("syslog"\)/],
    ["a volume sink without a volume", { ...databricks, GATEWAY_AUDIT_SINKS: "volume" }, "GATEWAY_AUDIT_SINKS", /GATEWAY_AUDIT_VOLUME is not set/],
    ["a path that is not a volume", { ...databricks, GATEWAY_AUDIT_VOLUME: "/tmp/audit" }, "GATEWAY_AUDIT_VOLUME", /not a Unity Catalog volume path/],
    ["a volume in local mode", { GATEWAY_AUDIT_VOLUME: "/Volumes/a/b/c" }, "GATEWAY_AUDIT_VOLUME", /needs Databricks mode/],
    ["an unknown failure policy", { GATEWAY_AUDIT_ON_FAILURE: "ignore" }, "GATEWAY_AUDIT_ON_FAILURE", /not one of refuse-writes, refuse-all, allow/],
    ["a zero spool bound", { GATEWAY_AUDIT_SPOOL_MAX_MB: "0" }, "GATEWAY_AUDIT_SPOOL_MAX_MB", /"0" is not a size in MB \(0.01-1048576\)/],
    ["a negative spool bound", { GATEWAY_AUDIT_SPOOL_MAX_MB: "-1" }, "GATEWAY_AUDIT_SPOOL_MAX_MB", /size in MB/],
  ];
  for (const [what, env, variable, message] of cases) {
    it(`refuses ${what}, naming ${variable}`, () => {
      const found = problems(env).find((p) => p.variable === variable);
      assert.ok(found, `a problem names ${variable}`);
      assert.match(found.message, message);
    });
  }

  it("refuses a blank sink list rather than running unaudited", () => {
    // Blank counts as unset (defaults apply); a list of separators only names no sink.
    assert.deepEqual(loadConfig({ GATEWAY_AUDIT_SINKS: "  " }, defaults).audit.sinks, ["file"]);
    const found = problems({ GATEWAY_AUDIT_SINKS: ",," }).find((p) => p.variable === "GATEWAY_AUDIT_SINKS");
    assert.match(found?.message ?? "", /names no sink/);
  });
});

describe("policy configuration", () => {
  it("makes the local developer the admin of a local run, and lets everyone write by default", () => {
    const config = loadConfig({}, defaults);
    assert.deepEqual(config.policy.admins, ["local-developer"]);
    assert.equal(config.policy.defaultAccess, "write");
  });

  it("has no admin in Databricks mode unless named, and reads lists case-insensitively", () => {
    assert.deepEqual(loadConfig(databricks, defaults).policy.admins, []);
    const config = loadConfig({ ...databricks, GATEWAY_ADMINS: "Alice@Example.com, bob", GATEWAY_READERS: "carol@example.com" }, defaults);
    assert.deepEqual(config.policy.admins, ["alice@example.com", "bob"]);
    assert.deepEqual(config.policy.readers, ["carol@example.com"]);
  });

  it("refuses an unknown default access", () => {
    assert.match(problems({ GATEWAY_DEFAULT_ACCESS: "admin" })[0]?.message ?? "", /not one of write, read/);
  });
});
