/** One thing wrong with the environment: which variable, what is wrong, how to fix it. */
export interface ConfigProblem {
  variable: string;
  message: string;
  fix: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** A shown value is cut to this length so a pasted blob does not flood the report. */
const MAX_SHOWN_VALUE = 80;

/** Quotes a (non-secret) value for a problem report, without control characters. */
export function show(value: string): string {
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, "?");
  return JSON.stringify(clean.length > MAX_SHOWN_VALUE ? `${clean.slice(0, MAX_SHOWN_VALUE)}...` : clean);
}

/** Reads typed values, recording a problem (never throwing) for each bad one. */
export class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: ConfigProblem[],
  ) {}

  /** A set, non-blank value, trimmed; blank counts as unset (app.yaml often leaves ""). */
  string(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  integer(name: string, fallback: number | undefined, range: { min: number; max: number; what: string }): number | undefined {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
      this.problems.push({
        variable: name,
        message: `${show(raw)} is not ${range.what}.`,
        fix:
          fallback === undefined
            ? `set ${name} to ${range.what}, or unset it.`
            : `set ${name} to ${range.what}, or unset it for the default ${fallback}.`,
      });
      return fallback;
    }
    return value;
  }

  /** A non-negative decimal number such as 0.5 or 1024. */
  decimal(name: string, fallback: number, range: { min: number; max: number; what: string }): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(value) || value < range.min || value > range.max) {
      this.problems.push({
        variable: name,
        message: `${show(raw)} is not ${range.what}.`,
        fix: `set ${name} to ${range.what}, or unset it for the default ${fallback}.`,
      });
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const match = allowed.find((candidate) => candidate === raw.toLowerCase());
    if (match === undefined) {
      this.problems.push({
        variable: name,
        message: `${show(raw)} is not one of ${allowed.join(", ")}.`,
        fix: `set ${name} to one of ${allowed.join(", ")}, or unset it for ${fallback}.`,
      });
      return fallback;
    }
    return match;
  }
}
