import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { ConfigError, loadConfig } from "../../../src/config/load-config.js";
import { REPO_ROOT } from "../../support/gateway-process.js";
import { gatewayVariables } from "../../support/gateway-variables.js";

// The deploy kit (databricks.yml, resources/, app.yaml) checked against the gateway's own
// configuration, since no workspace is reachable here to deploy it. What Databricks does with
// each field is from its documentation (docs/deploy.md cites it).

interface AppResource {
  name: string;
  secret?: { scope: string; key: string; permission: string };
  uc_securable?: { securable_full_name: string; securable_type: string; permission: string };
}
interface BundleApp {
  name: string;
  source_code_path: string;
  resources: AppResource[];
  permissions: { level: string; group_name?: string }[];
}
interface AppYaml {
  command: string[];
  env: { name: string; value?: string; valueFrom?: string }[];
}

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), "utf8");
const bundle = parse(read("databricks.yml")) as {
  include: string[];
  variables: Record<string, { default?: string; description?: string }>;
  targets: Record<string, { variables?: Record<string, string> }>;
};
const resourceFiles = readdirSync(path.join(REPO_ROOT, "resources"))
  .filter((file) => file.endsWith(".yml"))
  .map((file) => `resources/${file}`);
const resources = Object.assign({}, ...resourceFiles.map((file) => (parse(read(file)) as { resources: Record<string, unknown> }).resources)) as {
  apps: Record<string, BundleApp>;
  volumes: Record<string, Record<string, string>>;
  secret_scopes: Record<string, { name: string }>;
};
const [appKey, app] = Object.entries(resources.apps)[0] ?? [];
const appYaml = parse(read("app.yaml")) as AppYaml;

/** `${var.x}` substituted with a target's values, as the CLI does; `${resources.*}` left for the caller. */
function substitute(text: string, target: string): string {
  const values = {
    ...Object.fromEntries(Object.entries(bundle.variables).map(([k, v]) => [k, v.default ?? ""])),
    ...bundle.targets[target]?.variables,
  };
  return text.replace(/\$\{var\.(\w+)\}/g, (_, name: string) => {
    assert.ok(name in values, `variable ${name} is declared`);
    return values[name] ?? "";
  });
}

/** What the platform puts in the app's environment for a target: its own variables, then app.yaml's with valueFrom resolved. */
function appEnvironment(target: string): Record<string, string> {
  const volume = resources.volumes["audit"] ?? {};
  const resolved: Record<string, string> = {
    // A secret resolves to its value; a volume to its /Volumes path (docs: app resources).
    "audit-hmac-key": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "audit-volume": `/Volumes/${substitute(volume["catalog_name"] ?? "", target)}/${substitute(volume["schema_name"] ?? "", target)}/${substitute(volume["name"] ?? "", target)}`,
  };
  const env: Record<string, string> = {
    DATABRICKS_APP_NAME: substitute(app?.name ?? "", target),
    DATABRICKS_APP_PORT: "8000",
    DATABRICKS_HOST: "example.cloud.databricks.com",
    DATABRICKS_CLIENT_ID: "00000000-0000-0000-0000-000000000001",
    DATABRICKS_CLIENT_SECRET: "not-used-by-this-test",
  };
  for (const entry of appYaml.env) {
    const value = entry.valueFrom === undefined ? entry.value : resolved[entry.valueFrom];
    assert.ok(value !== undefined, `${entry.name}: valueFrom ${entry.valueFrom ?? ""} resolves`);
    env[entry.name] = value;
  }
  return env;
}

describe("the deploy kit: databricks.yml, resources/ and app.yaml agree with the gateway", () => {
  it("has one app whose source is this repository's root", () => {
    assert.equal(Object.keys(resources.apps).length, 1);
    assert.ok(app !== undefined && appKey !== undefined);
    assert.deepEqual(bundle.include, ["resources/*.yml"]);
    const root = path.resolve(REPO_ROOT, "resources", app.source_code_path);
    assert.equal(root, REPO_ROOT, "source_code_path is relative to the file that names it");
    for (const file of ["app.yaml", "package.json", "requirements.txt"]) assert.ok(existsSync(path.join(root, file)), file);
  });

  it("runs what package.json's start script runs, without a shell", () => {
    const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string> };
    assert.deepEqual(appYaml.command, (pkg.scripts["start"] ?? "").split(" "));
  });

  it("maps every valueFrom of app.yaml to a resource of the app, and every resource is used", () => {
    const names = (app?.resources ?? []).map((r) => r.name);
    const used = appYaml.env.flatMap((e) => (e.valueFrom === undefined ? [] : [e.valueFrom]));
    assert.deepEqual([...used].sort(), [...names].sort());
    const secret = app?.resources.find((r) => r.secret !== undefined)?.secret;
    assert.equal(secret?.permission, "READ", "the app only reads its key");
    assert.equal(secret?.scope, "${resources.secret_scopes.audit_key.name}", "the scope the bundle creates");
    const volume = app?.resources.find((r) => r.uc_securable !== undefined)?.uc_securable;
    assert.equal(volume?.securable_type, "VOLUME");
    assert.equal(volume?.permission, "WRITE_VOLUME", "the audit sink writes batches");
    assert.equal(volume?.securable_full_name, "${var.catalog}.${var.schema}.${resources.volumes.audit.name}", "the volume the bundle creates");
  });

  it("sets only variables the gateway reads, in Databricks mode with Unity Catalog", () => {
    const known = gatewayVariables();
    assert.deepEqual(
      appYaml.env.map((e) => e.name).filter((name) => !known.has(name)),
      [],
    );
    const env = Object.fromEntries(appYaml.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env["MLFLOW_TRACKING_URI"], "databricks");
    assert.equal(env["MLFLOW_REGISTRY_URI"], "databricks-uc");
    assert.equal(env["GATEWAY_AUDIT_HMAC_KEY"], "audit-hmac-key", "the key comes from the secret, never a literal");
  });

  for (const target of Object.keys(bundle.targets)) {
    it(`gives the gateway a configuration it accepts (target ${target})`, () => {
      let config;
      try {
        config = loadConfig(appEnvironment(target), { repoRoot: REPO_ROOT });
      } catch (error) {
        assert.fail(error instanceof ConfigError ? error.message : String(error));
      }
      assert.equal(config.mode, "databricks");
      assert.match(config.audit.volumePath ?? "", /^\/Volumes\/\w+\/\w+\/\w+$/);
      assert.ok(config.audit.sinks.includes("volume"), config.audit.sinks.join(","));
    });
  }

  it("declares every variable it uses and uses every variable it declares, each with a description", () => {
    const text = [read("databricks.yml"), ...resourceFiles.map(read)].join("\n");
    const used = new Set([...text.matchAll(/\$\{var\.(\w+)\}/g)].map((m) => m[1] ?? ""));
    for (const target of Object.values(bundle.targets)) for (const name of Object.keys(target.variables ?? {})) used.add(name);
    assert.deepEqual(
      [...used].filter((name) => !(name in bundle.variables)),
      [],
    );
    assert.deepEqual(
      Object.keys(bundle.variables).filter((name) => !used.has(name)),
      [],
    );
    for (const [name, variable] of Object.entries(bundle.variables)) assert.ok(variable.description, `${name} has a description`);
  });

  it("lets the users group use the app and the admins group manage it", () => {
    assert.deepEqual(app?.permissions, [
      { level: "CAN_USE", group_name: "${var.users_group}" },
      { level: "CAN_MANAGE", group_name: "${var.admins_group}" },
    ]);
  });
});
