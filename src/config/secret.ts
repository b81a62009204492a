import { inspect } from "node:util";

const REDACTED = "[redacted]";

/**
 * A value that must never be printed. Every way a value usually leaks (string
 * interpolation, JSON.stringify in a log line, util.inspect in an error dump) yields
 * "[redacted]"; only `reveal()` returns the real value, so each use is greppable.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
