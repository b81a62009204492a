import { readFileSync } from "node:fs";
import { builtInPolicy } from "../policy/built-in-policy.js";
import { parsePolicyDocument, type PolicyDocument, type PolicyProblem } from "../policy/policy-document.js";
import type { ConfigProblem } from "./env-reader.js";
import type { EnvReader } from "./env-reader.js";

export type DefaultAccess = "write" | "read";

/** Who may do what, beyond being a verified member of the workspace. */
export interface PolicyConfig {
  /** People who may open the gateway's admin pages (the audit viewer). Lower case. */
  admins: readonly string[];
  /** What everyone not listed below may do. */
  defaultAccess: DefaultAccess;
  /** People limited to reads, whatever the default. Lower case. */
  readers: readonly string[];
  /** People who may change things when the default is read-only. Lower case. */
  writers: readonly string[];
  /** The policy in force at start: the file's (GATEWAY_POLICY_FILE, GATEWAY_POLICY) or the one built from the switches above. */
  document: PolicyDocument;
  /** A policy file to watch for changes; undefined when the policy came from the environment. */
  file: string | undefined;
}

const SWITCHES = ["GATEWAY_DEFAULT_ACCESS", "GATEWAY_READERS", "GATEWAY_WRITERS", "GATEWAY_ADMINS"] as const;

/**
 * People are named by email, user name or subject (any of them matches), comma or space
 * separated. A local run's single developer is its admin unless someone else is named.
 * A policy file (GATEWAY_POLICY_FILE, a path; or GATEWAY_POLICY, the YAML itself, e.g. from
 * a Databricks secret) replaces those switches; setting both is a mistake worth stopping for.
 */
export function readPolicy(reader: EnvReader, context: { localUser: string | undefined; problems: ConfigProblem[] }): PolicyConfig {
  const list = (name: string): string[] =>
    (reader.string(name) ?? "")
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((entry) => entry.toLowerCase());
  const admins = list("GATEWAY_ADMINS");
  if (admins.length === 0 && context.localUser !== undefined) admins.push(context.localUser.toLowerCase());
  const switches = {
    admins,
    defaultAccess: reader.oneOf("GATEWAY_DEFAULT_ACCESS", ["write", "read"] as const, "write"),
    readers: list("GATEWAY_READERS"),
    writers: list("GATEWAY_WRITERS"),
  };
  const file = reader.string("GATEWAY_POLICY_FILE");
  const inline = reader.string("GATEWAY_POLICY");
  const fromFile = file !== undefined || inline !== undefined;
  if (file !== undefined && inline !== undefined) {
    context.problems.push({
      variable: "GATEWAY_POLICY",
      message: "is set together with GATEWAY_POLICY_FILE.",
      fix: "keep one: a path to the policy file, or the policy's YAML itself.",
    });
  }
  if (fromFile) {
    for (const name of SWITCHES) {
      if (reader.string(name) !== undefined) {
        context.problems.push({
          variable: name,
          message: "is set together with a policy file, which replaces it.",
          fix: `write it as a grant in the policy file and unset ${name}.`,
        });
      }
    }
  }
  let document = builtInPolicy(switches);
  if (file !== undefined) {
    const loaded = loadPolicyFile(file);
    if ("problems" in loaded) context.problems.push(...loaded.problems.map((p) => policyProblem("GATEWAY_POLICY_FILE", file, p)));
    else document = loaded.policy;
  } else if (inline !== undefined) {
    const parsed = parsePolicyDocument(inline, "GATEWAY_POLICY");
    if ("problems" in parsed) context.problems.push(...parsed.problems.map((p) => policyProblem("GATEWAY_POLICY", "the policy", p)));
    else document = parsed.policy;
  }
  return { ...switches, document, file };
}

/** Reads and parses a policy file; a file that cannot be read is one problem like any other. */
export function loadPolicyFile(file: string): { policy: PolicyDocument } | { problems: PolicyProblem[] } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    return { problems: [{ at: "file", message: `cannot be read (${code}).` }] };
  }
  return parsePolicyDocument(text, file);
}

function policyProblem(variable: string, where: string, problem: PolicyProblem): ConfigProblem {
  return {
    variable,
    message: `${where}, ${problem.at}: ${problem.message}`,
    fix: "correct the policy (the shipped example is policy.example.yaml; docs/identity-and-policy.md explains each field).",
  };
}
