import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../../src/config/load-config.js";
import { describeReady, shortPath } from "../../../src/log/ready-line.js";

const AUDIT_KEY = "unit-test-audit-key-0123456789abcdefgh";

describe("the ready line", () => {
  it("in local mode names the URL, the mode, MLflow's version, where data and the audit trail are, and how to stop", () => {
    const config = loadConfig({}, { repoRoot: "/home/ana/gateway" });
    const ready = describeReady(config, { url: "http://localhost:8000", mlflowVersion: "3.17.2", format: "pretty", cwd: "/home/ana/gateway" });
    assert.equal(
      ready.message,
      "Ready: open http://localhost:8000  (local mode, MLflow 3.17.2, data in ./.data, audit trail in ./.data/audit; Ctrl-C stops it)",
    );
    assert.equal(ready.fields["event"], "ready");
    assert.equal(ready.fields["dataDir"], "/home/ana/gateway/.data", "the JSON fields keep absolute paths");
  });

  it("in Databricks mode names the workspace and the audit volume, and SIGTERM when no one is at a terminal", () => {
    const config = loadConfig(
      {
        MLFLOW_TRACKING_URI: "databricks",
        DATABRICKS_HOST: "adb-1.azuredatabricks.net",
        DATABRICKS_CLIENT_ID: "sp",
        DATABRICKS_CLIENT_SECRET: "secret-value-123",
        GATEWAY_AUDIT_HMAC_KEY: AUDIT_KEY,
        GATEWAY_AUDIT_SINKS: "stdout,volume",
        GATEWAY_AUDIT_VOLUME: "/Volumes/main/mlflow/audit",
      },
      { repoRoot: "/app" },
    );
    const ready = describeReady(config, { url: "http://localhost:8000", mlflowVersion: "3.17.2", format: "json", cwd: "/app" });
    assert.match(ready.message, /^Ready: serving http:\/\/localhost:8000 behind the Databricks Apps front door/);
    assert.match(
      ready.message,
      /Databricks mode, workspace https:\/\/adb-1\.azuredatabricks\.net, MLflow 3\.17\.2, audit trail in \/Volumes\/main\/mlflow\/audit; SIGTERM stops it/,
    );
    assert.ok(!ready.message.includes("secret-value-123"));
  });

  it("shows paths under the current directory relative to it, others as they are", () => {
    assert.equal(shortPath("/home/ana/gateway/.data", "/home/ana/gateway"), "./.data");
    assert.equal(shortPath("/home/ana/gateway", "/home/ana/gateway"), ".");
    assert.equal(shortPath("/var/lib/mlflow", "/home/ana/gateway"), "/var/lib/mlflow");
  });
});
