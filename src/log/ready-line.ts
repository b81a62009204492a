import path from "node:path";
import type { Config } from "../config/config.js";
import type { LogFormat } from "./log-format.js";

export interface ReadyFacts {
  /** The address the gateway listens on, as a browser on this machine would open it. */
  url: string;
  mlflowVersion: string;
  /** The resolved log format: a person at a terminal stops the gateway with Ctrl-C. */
  format: LogFormat;
  /** Paths are shown relative to this directory when they are inside it. */
  cwd: string;
}

export interface ReadyLine {
  message: string;
  fields: Record<string, string | undefined>;
}

/**
 * The one line that says the UI can be opened now: where, in which mode, on which MLflow,
 * where the data and the audit trail are kept, and how to stop. Logged once, when the
 * child answers and the gateway listens (start-gateway.ts).
 */
export function describeReady(config: Config, facts: ReadyFacts): ReadyLine {
  const { sinks, volumePath, dir } = config.audit;
  const audit = sinks.includes("volume") && volumePath !== undefined ? volumePath : sinks.includes("file") ? dir : undefined;
  const auditText = audit === undefined ? "audit trail on stdout only" : `audit trail in ${shortPath(audit, facts.cwd)}`;
  const stop = facts.format === "pretty" ? "Ctrl-C stops it" : "SIGTERM stops it";
  const fields = {
    event: "ready",
    url: facts.url,
    mode: config.mode,
    mlflowVersion: facts.mlflowVersion,
    dataDir: config.dataDir,
    auditDir: audit,
    databricksHost: config.databricks?.host,
  };
  if (config.mode === "local") {
    const data = config.dataDir === undefined ? "" : `, data in ${shortPath(config.dataDir, facts.cwd)}`;
    return {
      message: `Ready: open ${facts.url}  (local mode, MLflow ${facts.mlflowVersion}${data}, ${auditText}; ${stop})`,
      fields,
    };
  }
  const host = config.databricks?.host ?? "";
  return {
    message: `Ready: serving ${facts.url} behind the Databricks Apps front door  (Databricks mode, workspace ${host}, MLflow ${facts.mlflowVersion}, ${auditText}; ${stop})`,
    fields,
  };
}

/** `./.data` rather than `/home/someone/projects/gateway/.data` when it is under the current directory. */
export function shortPath(target: string, cwd: string): string {
  const relative = path.relative(cwd, target);
  if (relative === "") return ".";
  if (relative.startsWith("..") || path.isAbsolute(relative)) return target;
  return `./${relative}`;
}
