// The Databricks Asset Bundle's names per target (databricks.yml with resources/*.yml), resolved
// as the CLI resolves `${var.x}`: what a documented `databricks` command must name.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "./gateway-process.js";

export interface BundleTarget {
  name: string;
  appName: string;
  /** The secret scope the bundle creates for the digest key. */
  scope: string;
  catalog: string;
  schema: string;
  volume: string;
}

interface Bundle {
  variables: Record<string, { default?: string }>;
  targets: Record<string, { variables?: Record<string, string> }>;
}

interface Resources {
  apps: Record<string, { name: string; resources: { name: string; secret?: { scope: string; key: string } }[] }>;
  secret_scopes: Record<string, { name: string }>;
  volumes: Record<string, { catalog_name: string; schema_name: string; name: string; volume_type: string }>;
}

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), "utf8");

export const bundle = parse(read("databricks.yml")) as Bundle;

export const bundleResources = Object.assign(
  {},
  ...readdirSync(path.join(REPO_ROOT, "resources"))
    .filter((file) => file.endsWith(".yml"))
    .map((file) => (parse(read(`resources/${file}`)) as { resources: Partial<Resources> }).resources),
) as Resources;

/** The bundle's app: its resource key (`databricks bundle run <key>`) and definition. */
export const [bundleAppKey, bundleApp] = Object.entries(bundleResources.apps)[0] ?? [];

const appYaml = parse(read("app.yaml")) as { env: { name: string; valueFrom?: string }[] };

/** The secret app.yaml gives the gateway as GATEWAY_AUDIT_HMAC_KEY (through the app's resource). */
export function hmacKeySecret(): { scope: string; key: string } | undefined {
  const resource = appYaml.env.find((e) => e.name === "GATEWAY_AUDIT_HMAC_KEY")?.valueFrom;
  return bundleApp?.resources.find((r) => r.name === resource)?.secret;
}

export function bundleTarget(name: string): BundleTarget {
  const values: Record<string, string> = {
    ...Object.fromEntries(Object.entries(bundle.variables).map(([key, v]) => [key, v.default ?? ""])),
    ...bundle.targets[name]?.variables,
  };
  const resolve = (text: string): string => text.replace(/\$\{var\.(\w+)\}/g, (_, variable: string) => values[variable] ?? "");
  const volume = Object.values(bundleResources.volumes)[0];
  return {
    name,
    appName: resolve(bundleApp?.name ?? ""),
    scope: resolve(Object.values(bundleResources.secret_scopes)[0]?.name ?? ""),
    catalog: resolve(volume?.catalog_name ?? ""),
    schema: resolve(volume?.schema_name ?? ""),
    volume: resolve(volume?.name ?? ""),
  };
}

export function bundleTargets(): BundleTarget[] {
  return Object.keys(bundle.targets).map(bundleTarget);
}
