import type { PolicyConfig } from "../config/policy-config.js";
import type { Identity } from "../identity/identity.js";
import type { OperationClass } from "../routes/classify-operation.js";

/** A decision and the rule that made it; the rule name is what the audit trail records. */
export interface Decision {
  allow: boolean;
  rule: PolicyRule;
}

/**
 * Stable rule names. Refusals made before the policy stage (identity, unknown route,
 * cross-site) carry their own names in the audit trail; these are the policy's.
 */
export type PolicyRule = "admin" | "admin-only" | "reader" | "read-only" | "writer" | "default-write" | "default-read" | "open";

/**
 * Decides whether a verified person may make this MLflow call. Everyone the front door
 * lets in may read (Databricks Apps already limits who can open the app); changes need
 * write access; the audit viewer needs an admin.
 */
export class Policy {
  readonly #config: PolicyConfig;

  constructor(config: PolicyConfig) {
    this.#config = config;
  }

  decide(identity: Identity, operationClass: OperationClass): Decision {
    if (operationClass === "ui" || operationClass === "health") return { allow: true, rule: "open" };
    const changes = operationClass === "write" || operationClass === "delete";
    if (!changes) return { allow: true, rule: this.#matches(identity, this.#config.readers) ? "reader" : "default-read" };
    if (this.#matches(identity, this.#config.readers)) return { allow: false, rule: "read-only" };
    if (this.#config.defaultAccess === "write") return { allow: true, rule: "default-write" };
    if (this.#matches(identity, this.#config.writers)) return { allow: true, rule: "writer" };
    return { allow: false, rule: "read-only" };
  }

  decideAdmin(identity: Identity): Decision {
    return this.#matches(identity, this.#config.admins) ? { allow: true, rule: "admin" } : { allow: false, rule: "admin-only" };
  }

  #matches(identity: Identity, people: readonly string[]): boolean {
    if (people.length === 0) return false;
    const names = [identity.email, identity.userName, identity.subject].filter((n): n is string => n !== undefined).map((n) => n.toLowerCase());
    return names.some((name) => people.includes(name));
  }
}
