import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { normaliseHost } from "../../../src/config/databricks-config.js";
import { ConfigError, loadConfig } from "../../../src/config/load-config.js";

const defaults = { repoRoot: "/srv/app" };
const SECRET = "s3cr3t-value-never-printed";

const AUDIT_KEY = "unit-test-audit-key-0123456789abcdefgh";

function problemsOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, defaults);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail("configuration was accepted");
}

describe("loadConfig in local mode", () => {
  it("defaults to SQLite and artifacts under <repo>/.data, on loopback port 8000, as the local developer", () => {
    const config = loadConfig({}, defaults);
    assert.equal(config.mode, "local");
    assert.deepEqual(config.listen, { host: "127.0.0.1", port: 8000, portVariable: "PORT" });
    assert.equal(config.logFormat, "auto");
    assert.deepEqual(config.identity, { mode: "local", requiredScopes: [], localUser: "local-developer", workspaceHost: undefined });
    assert.equal(config.dataDir, "/srv/app/.data");
    assert.equal(config.mlflow.backendStoreUri, "sqlite:////srv/app/.data/mlflow.db");
    assert.equal(config.mlflow.registryStoreUri, config.mlflow.backendStoreUri);
    assert.equal(config.mlflow.artifactsDestination, "/srv/app/.data/artifacts");
    assert.equal(config.mlflow.workers, 2);
    assert.equal(config.databricks, undefined);
  });

  it("prefers DATABRICKS_APP_PORT over PORT", () => {
    assert.equal(loadConfig({ DATABRICKS_APP_PORT: "8080", PORT: "9090" }, defaults).listen.port, 8080);
    assert.equal(loadConfig({ PORT: "9090" }, defaults).listen.port, 9090);
    assert.equal(loadConfig({ DATABRICKS_APP_PORT: "8080" }, defaults).listen.portVariable, "DATABRICKS_APP_PORT", "a port-in-use message names it");
  });

  it("reads GATEWAY_LOG_FORMAT in any case", () => {
    assert.equal(loadConfig({ GATEWAY_LOG_FORMAT: "JSON" }, defaults).logFormat, "json");
    assert.equal(loadConfig({ GATEWAY_LOG_FORMAT: "pretty" }, defaults).logFormat, "pretty");
  });

  it("accepts a database URI as the tracking store and a separate data dir", () => {
    const config = loadConfig({ MLFLOW_TRACKING_URI: "postgresql://u:p@db/mlflow", GATEWAY_DATA_DIR: "/var/data" }, defaults);
    assert.equal(config.mlflow.backendStoreUri, "postgresql://u:p@db/mlflow");
    assert.equal(config.mlflow.artifactsDestination, "/var/data/artifacts");
  });

  it("treats blank values as unset, as app.yaml templates often leave them", () => {
    assert.equal(loadConfig({ PORT: "  ", MLFLOW_TRACKING_URI: "" }, defaults).listen.port, 8000);
  });
});

describe("loadConfig in Databricks mode", () => {
  const oauth = {
    MLFLOW_TRACKING_URI: "databricks",
    DATABRICKS_HOST: "adb-1.azuredatabricks.net",
    DATABRICKS_CLIENT_ID: "sp-id",
    DATABRICKS_CLIENT_SECRET: SECRET,
    GATEWAY_AUDIT_HMAC_KEY: AUDIT_KEY,
  };

  it("uses Unity Catalog by default, https for a bare host, OAuth M2M, all interfaces and header identity", () => {
    const config = loadConfig(oauth, defaults);
    assert.equal(config.mode, "databricks");
    assert.equal(config.listen.host, "0.0.0.0");
    assert.equal(config.identity.mode, "headers");
    assert.equal(config.databricks?.host, "https://adb-1.azuredatabricks.net");
    assert.equal(config.mlflow.registryStoreUri, "databricks-uc");
    assert.equal(config.mlflow.backendStoreUri, "databricks");
    assert.equal(config.mlflow.artifactsDestination, undefined);
    assert.equal(config.dataDir, undefined);
    assert.equal(config.databricks?.auth.kind, "oauth-m2m");
    assert.equal(config.databricks?.experimentRoot, "/Shared/mlflow");
  });

  it("files plain-named experiments under /Shared/<app name>, or under GATEWAY_EXPERIMENT_ROOT", () => {
    assert.equal(loadConfig({ ...oauth, DATABRICKS_APP_NAME: "team-mlflow" }, defaults).databricks?.experimentRoot, "/Shared/team-mlflow");
    assert.equal(loadConfig({ ...oauth, GATEWAY_EXPERIMENT_ROOT: "/Shared/ml/exps/" }, defaults).databricks?.experimentRoot, "/Shared/ml/exps");
  });

  it("never shows the client secret when printed, inspected or serialised", () => {
    const config = loadConfig(oauth, defaults);
    assert.ok(!JSON.stringify(config).includes(SECRET));
    assert.ok(!inspect(config, { depth: 10 }).includes(SECRET));
    assert.ok(!`${String(config.databricks?.auth.kind === "oauth-m2m" ? config.databricks.auth.clientSecret : "")}`.includes(SECRET));
  });

  it("uses a token when it is the only credential, and keeps an explicit http:// host", () => {
    const config = loadConfig(
      { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: "http://127.0.0.1:9999/", DATABRICKS_TOKEN: SECRET, GATEWAY_AUDIT_HMAC_KEY: AUDIT_KEY },
      defaults,
    );
    assert.equal(config.databricks?.host, "http://127.0.0.1:9999");
    assert.equal(config.databricks?.auth.kind, "pat");
  });

  it("lets DATABRICKS_AUTH_TYPE choose when both credential kinds are present", () => {
    const config = loadConfig({ ...oauth, DATABRICKS_TOKEN: "dapi-x", DATABRICKS_AUTH_TYPE: "pat" }, defaults);
    assert.equal(config.databricks?.auth.kind, "pat");
  });
});

describe("configuration problems", () => {
  it("reports every problem at once, each naming the variable and a fix", () => {
    const error = problemsOf({ MLFLOW_TRACKING_URI: "databricks", PORT: "eighty", GATEWAY_MLFLOW_WORKERS: "0", GATEWAY_LOG_LEVEL: "loud" });
    const variables = error.problems.map((p) => p.variable).sort();
    assert.deepEqual(variables, [
      "DATABRICKS_CLIENT_ID",
      "DATABRICKS_HOST",
      "GATEWAY_AUDIT_HMAC_KEY",
      "GATEWAY_LOG_LEVEL",
      "GATEWAY_MLFLOW_WORKERS",
      "PORT",
    ]);
    assert.match(error.message, /^Configuration is invalid \(6 problems\):/);
    for (const problem of error.problems) {
      assert.ok(problem.fix.length > 10, `${problem.variable} has a fix`);
      assert.ok(error.message.includes(`${problem.variable}: ${problem.message} Fix: ${problem.fix}`));
    }
    assert.equal(error.code, "CONFIG_INVALID");
  });

  const cases: Array<[string, Record<string, string>, string, RegExp]> = [
    ["a non-numeric port", { PORT: "abc" }, "PORT", /"abc" is not a TCP port number/],
    ["an unknown log format", { GATEWAY_LOG_FORMAT: "colour" }, "GATEWAY_LOG_FORMAT", /"colour" is not one of auto, json, pretty/],
    ["a port out of range", { DATABRICKS_APP_PORT: "70000" }, "DATABRICKS_APP_PORT", /"70000" is not a TCP port number/],
    ["a negative timeout", { GATEWAY_UPSTREAM_TIMEOUT_MS: "-5" }, "GATEWAY_UPSTREAM_TIMEOUT_MS", /"-5" is not milliseconds/],
    ["a grace period past the platform's kill", { GATEWAY_SHUTDOWN_GRACE_MS: "20000" }, "GATEWAY_SHUTDOWN_GRACE_MS", /15 s Databricks Apps allows/],
    ["too many workers", { GATEWAY_MLFLOW_WORKERS: "999" }, "GATEWAY_MLFLOW_WORKERS", /worker count/],
    ["a child port equal to the public port", { PORT: "8000", GATEWAY_MLFLOW_PORT: "8000" }, "GATEWAY_MLFLOW_PORT", /also the gateway's public port/],
    ["an HTTP tracking URI", { MLFLOW_TRACKING_URI: "http://other:5000" }, "MLFLOW_TRACKING_URI", /neither 'databricks' nor a database URI/],
    [
      "a Databricks CLI profile",
      { MLFLOW_TRACKING_URI: "databricks://prod", DATABRICKS_HOST: "h", DATABRICKS_TOKEN: "t" },
      "MLFLOW_TRACKING_URI",
      /profiles are not available/,
    ],
    ["a bad local registry URI", { MLFLOW_REGISTRY_URI: "databricks-uc" }, "MLFLOW_REGISTRY_URI", /not a database URI/],
    [
      "a bad Databricks registry URI",
      { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: "h", DATABRICKS_TOKEN: "t", MLFLOW_REGISTRY_URI: "sqlite:///x" },
      "MLFLOW_REGISTRY_URI",
      /not a Databricks model registry/,
    ],
    [
      "a host with a path",
      { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: "https://h/api", DATABRICKS_TOKEN: "t" },
      "DATABRICKS_HOST",
      /not a workspace URL/,
    ],
    [
      "a client id without its secret",
      { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: "h", DATABRICKS_CLIENT_ID: "id" },
      "DATABRICKS_CLIENT_SECRET",
      /needs both/,
    ],
    [
      "two credential kinds without a choice",
      {
        MLFLOW_TRACKING_URI: "databricks",
        DATABRICKS_HOST: "h",
        DATABRICKS_CLIENT_ID: "i",
        DATABRICKS_CLIENT_SECRET: SECRET,
        DATABRICKS_TOKEN: SECRET,
      },
      "DATABRICKS_TOKEN",
      /exactly one credential/,
    ],
    [
      "an unknown auth type",
      { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: "h", DATABRICKS_TOKEN: "t", DATABRICKS_AUTH_TYPE: "basic" },
      "DATABRICKS_AUTH_TYPE",
      /not supported/,
    ],
    [
      "pat chosen without a token",
      { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: "h", DATABRICKS_AUTH_TYPE: "pat" },
      "DATABRICKS_TOKEN",
      /is not set/,
    ],
    [
      "a data dir in Databricks mode",
      { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: "h", DATABRICKS_TOKEN: "t", GATEWAY_DATA_DIR: "/d" },
      "GATEWAY_DATA_DIR",
      /only used in local mode/,
    ],
    ["local identity on a network listener", { GATEWAY_LISTEN_HOST: "0.0.0.0" }, "GATEWAY_IDENTITY_MODE", /others can reach it/],
    [
      "token identity without a workspace to verify against",
      { GATEWAY_IDENTITY_MODE: "token" },
      "DATABRICKS_HOST",
      /verified against that workspace/,
    ],
    ["an unknown identity mode", { GATEWAY_IDENTITY_MODE: "trust-me" }, "GATEWAY_IDENTITY_MODE", /not one of headers, token, local/],
    ["a credential without Databricks mode", { DATABRICKS_TOKEN: SECRET }, "DATABRICKS_TOKEN", /silently run on local storage/],
    [
      "an experiment root that is not a workspace folder",
      { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: "h", DATABRICKS_TOKEN: "t", GATEWAY_EXPERIMENT_ROOT: "Shared/x" },
      "GATEWAY_EXPERIMENT_ROOT",
      /absolute workspace path.*\/Shared\/mlflow/,
    ],
  ];
  for (const [what, env, variable, pattern] of cases) {
    it(`rejects ${what}`, () => {
      const error = problemsOf(env);
      const problem = error.problems.find((p) => p.variable === variable);
      assert.ok(problem, `a problem names ${variable}: ${error.message}`);
      assert.match(`${problem.message} ${problem.fix}`, pattern);
      assert.ok(!error.message.includes(SECRET), "no secret in the report");
    });
  }

  it("cuts and cleans a long or hostile value before showing it", () => {
    const error = problemsOf({ PORT: `1\n${"x".repeat(500)}` });
    assert.ok(!error.message.includes('\n  - PORT: "1\n'));
    assert.ok(error.message.length < 400);
  });
});

describe("identity configuration", () => {
  it("verifies tokens against DATABRICKS_HOST in header mode on a local backend, with required scopes", () => {
    const config = loadConfig(
      { GATEWAY_IDENTITY_MODE: "headers", GATEWAY_LISTEN_HOST: "0.0.0.0", DATABRICKS_HOST: "ws.example", GATEWAY_REQUIRED_SCOPES: "all-apis, sql" },
      defaults,
    );
    assert.equal(config.identity.mode, "headers");
    assert.deepEqual(config.identity.requiredScopes, ["all-apis", "sql"]);
    assert.equal(config.identity.workspaceHost, "https://ws.example");
  });
});

describe("local identity in a container", () => {
  it("is allowed on 0.0.0.0 only when explicitly acknowledged", () => {
    const config = loadConfig({ GATEWAY_LISTEN_HOST: "0.0.0.0", GATEWAY_ALLOW_LOCAL_IDENTITY_ON_NETWORK: "true" }, defaults);
    assert.equal(config.identity.mode, "local");
    assert.equal(config.listen.host, "0.0.0.0");
  });
});

describe("normaliseHost", () => {
  it("adds https, keeps http, drops a trailing slash, refuses paths and credentials", () => {
    assert.equal(normaliseHost("dbc-1.cloud.databricks.com"), "https://dbc-1.cloud.databricks.com");
    assert.equal(normaliseHost("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
    assert.equal(normaliseHost("https://h/x"), undefined);
    assert.equal(normaliseHost("https://u:p@h"), undefined);
    assert.equal(normaliseHost("ftp://h"), undefined);
    assert.equal(normaliseHost("https://"), undefined);
  });
});
