import { readFileSync, statSync } from "node:fs";
import { loadPolicyFile } from "../config/policy-config.js";
import { parsePolicyDocument } from "./policy-document.js";
import type { Logger } from "../log/create-logger.js";
import type { ReadinessCheck } from "../readiness.js";
import type { PolicySource } from "./authorizer.js";
import type { PolicyDocument, PolicyProblem } from "./policy-document.js";

/** How often the policy file is checked for changes (polling works on every file system a volume or workspace file may be on). */
export const POLICY_POLL_MS = 2_000;

/**
 * The policy in force. A policy file is reloaded when it changes, without a restart; a
 * changed file with problems is refused as a whole (logged with every problem, and shown
 * in readiness) and the last valid policy stays in force, so a typo never opens or closes
 * the app by accident.
 */
export class PolicyStore implements PolicySource, ReadinessCheck {
  readonly name = "policy";
  readonly #file: string | undefined;
  readonly #logger: Logger;
  readonly #listeners: Array<(policy: PolicyDocument) => void> = [];
  #policy: PolicyDocument;
  #loadedAt = new Date();
  #rejected: { at: Date; problems: PolicyProblem[] } | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** What the file held when last read, and its stat, to tell a change from a touch. */
  #text: string | undefined;
  #stamp = "";

  constructor(initial: PolicyDocument, options: { file: string | undefined; logger: Logger }) {
    this.#policy = initial;
    this.#file = options.file;
    this.#logger = options.logger;
  }

  current(): PolicyDocument {
    return this.#policy;
  }

  onChange(listener: (policy: PolicyDocument) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Polls the file's stat (its own timer, so a change made right after start is never the
   * baseline of a watcher that missed it) and re-reads the file now, in case it changed
   * since the configuration was loaded.
   */
  start(pollMs = POLICY_POLL_MS): void {
    const file = this.#file;
    if (file === undefined || this.#timer !== undefined) return;
    this.#stamp = stampOf(file);
    this.reload({ atStart: true });
    this.#timer = setInterval(() => {
      const stamp = stampOf(file);
      if (stamp === this.#stamp) return;
      this.#stamp = stamp;
      this.reload();
    }, pollMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the file again now (also what a change triggers); a file whose text did not change is left alone. */
  reload(options: { atStart?: boolean } = {}): boolean {
    if (this.#file === undefined) return false;
    const text = readText(this.#file);
    if (text !== undefined && text === this.#text && this.#rejected === undefined) return true;
    this.#text = text;
    // The text just read is the one parsed; only a file that cannot be read goes the long way, for its message.
    const loaded = text === undefined ? loadPolicyFile(this.#file) : parsePolicyDocument(text, this.#file);
    if ("problems" in loaded) {
      this.#rejected = { at: new Date(), problems: loaded.problems };
      this.#logger.error("the changed policy file was refused; the previous policy stays in force", {
        file: this.#file,
        problems: loaded.problems.map((p) => `${p.at}: ${p.message}`),
      });
      return false;
    }
    this.#policy = loaded.policy;
    this.#loadedAt = new Date();
    this.#rejected = undefined;
    // At start the file is read a second time, normally unchanged since the configuration read it: not news.
    this.#logger.log(options.atStart === true ? "debug" : "info", "policy reloaded", {
      file: this.#file,
      grants: loaded.policy.grants.length,
      protectedAliases: loaded.policy.aliasGuards.length,
    });
    for (const listener of this.#listeners) listener(loaded.policy);
    return true;
  }

  check(): { ok: boolean; detail: string } {
    const policy = this.#policy;
    const base = `${policy.grants.length} grants from ${policy.source}, in force since ${this.#loadedAt.toISOString()}`;
    if (this.#rejected === undefined) return { ok: true, detail: base };
    const problems = this.#rejected.problems.map((p) => `${p.at}: ${p.message}`).join("; ");
    // Still serving on the last valid policy: ready, but say loudly what was refused.
    return { ok: true, detail: `${base}; the file changed at ${this.#rejected.at.toISOString()} and was refused: ${problems.slice(0, 500)}` };
  }
}

function stampOf(file: string): string {
  try {
    const stat = statSync(file, { bigint: true });
    return `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code ?? "?"}`;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
