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
}

/**
 * People are named by email, user name or subject (any of them matches), comma or space
 * separated. A local run's single developer is its admin unless someone else is named.
 */
export function readPolicy(reader: EnvReader, context: { localUser: string | undefined }): PolicyConfig {
  const list = (name: string): string[] =>
    (reader.string(name) ?? "")
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((entry) => entry.toLowerCase());
  const admins = list("GATEWAY_ADMINS");
  if (admins.length === 0 && context.localUser !== undefined) admins.push(context.localUser.toLowerCase());
  return {
    admins,
    defaultAccess: reader.oneOf("GATEWAY_DEFAULT_ACCESS", ["write", "read"] as const, "write"),
    readers: list("GATEWAY_READERS"),
    writers: list("GATEWAY_WRITERS"),
  };
}
