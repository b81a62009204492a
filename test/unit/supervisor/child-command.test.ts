import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../../src/config/load-config.js";
import { buildChildCommand, describeChildCommand } from "../../../src/supervisor/child-command.js";

const SECRET = "client-secret-xyz";

function argValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index === -1 ? undefined : args[index + 1];
}

describe("buildChildCommand", () => {
  it("runs locally on loopback with the artifact store served from the data dir", () => {
    const config = loadConfig({ GATEWAY_MLFLOW_WORKERS: "3" }, { repoRoot: "/r" });
    const command = buildChildCommand(config, "/venv/bin/mlflow", 5001, {
      PATH: "/bin",
      GATEWAY_LOG_LEVEL: "debug",
      MLFLOW_SERVER_ALLOWED_HOSTS: "*",
    });
    assert.equal(command.file, "/venv/bin/mlflow");
    assert.equal(argValue(command.args, "--host"), "127.0.0.1");
    assert.equal(argValue(command.args, "--port"), "5001");
    assert.equal(argValue(command.args, "--workers"), "3");
    assert.equal(argValue(command.args, "--artifacts-destination"), "/r/.data/artifacts");
    assert.ok(command.args.includes("--serve-artifacts"));
    assert.equal(argValue(command.args, "--allowed-hosts"), "127.0.0.1:5001,localhost:5001");
    assert.equal(command.env["PATH"], "/bin");
    assert.equal(command.env["GATEWAY_LOG_LEVEL"], undefined, "gateway variables stay with the gateway");
    assert.equal(command.env["MLFLOW_SERVER_ALLOWED_HOSTS"], undefined, "an inherited '*' cannot widen the child's host check");
  });

  it("passes exactly one Databricks credential kind and turns the local artifact store off", () => {
    const config = loadConfig(
      {
        MLFLOW_TRACKING_URI: "databricks",
        DATABRICKS_HOST: "h.example",
        DATABRICKS_CLIENT_ID: "sp",
        DATABRICKS_CLIENT_SECRET: SECRET,
        DATABRICKS_TOKEN: "dapi",
        DATABRICKS_AUTH_TYPE: "oauth-m2m",
        GATEWAY_AUDIT_HMAC_KEY: "unit-test-audit-key-0123456789abcdefgh",
      },
      { repoRoot: "/r" },
    );
    const command = buildChildCommand(config, "mlflow", 5001, { DATABRICKS_TOKEN: "dapi-inherited", GATEWAY_AUDIT_HMAC_KEY: "inherited-key" });
    assert.equal(command.env["GATEWAY_AUDIT_HMAC_KEY"], undefined, "the digest key never reaches the child");
    assert.equal(argValue(command.args, "--backend-store-uri"), "databricks");
    assert.equal(argValue(command.args, "--registry-store-uri"), "databricks-uc");
    // Only Unity Catalog model versions' files are read through the child's artifact routes.
    assert.ok(command.args.includes("--serve-artifacts"));
    assert.equal(argValue(command.args, "--artifacts-destination"), "gateway-uc-model-versions:/");
    assert.equal(command.env["MLFLOW_TRACKING_URI"], "databricks");
    assert.equal(command.env["DATABRICKS_HOST"], "https://h.example");
    assert.equal(command.env["DATABRICKS_AUTH_TYPE"], "oauth-m2m");
    assert.equal(command.env["DATABRICKS_CLIENT_SECRET"], SECRET);
    assert.equal(command.env["DATABRICKS_TOKEN"], undefined);
    assert.ok(!describeChildCommand(command).includes(SECRET));
  });

  it("sizes a SQLite store's connection pool so LogBatch cannot deadlock it, unless the operator sized it", () => {
    const sqlite = loadConfig({}, { repoRoot: "/r" });
    assert.equal(buildChildCommand(sqlite, "mlflow", 5001, {}).env["MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW"], "80");
    assert.equal(
      buildChildCommand(sqlite, "mlflow", 5001, { MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "20" }).env["MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW"],
      "20",
    );
    const server = loadConfig({ MLFLOW_TRACKING_URI: "postgresql://mlflow@db:5432/mlflow" }, { repoRoot: "/r" });
    assert.equal(
      buildChildCommand(server, "mlflow", 5001, {}).env["MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW"],
      undefined,
      "a database server's connection limit is the operator's to budget",
    );
  });

  it("masks a database password when describing the command", () => {
    const config = loadConfig({ MLFLOW_TRACKING_URI: "postgresql://mlflow:hunter2@db:5432/mlflow" }, { repoRoot: "/r" });
    const described = describeChildCommand(buildChildCommand(config, "mlflow", 5001, {}));
    assert.ok(!described.includes("hunter2"));
    assert.match(described, /postgresql:\/\/mlflow:\*\*\*@db:5432\/mlflow/);
  });
});
