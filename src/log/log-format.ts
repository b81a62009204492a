/**
 * Which shape the operational log takes. Databricks Apps collects stdout line by line and
 * its log view searches JSON fields, so anything that is not a person at a terminal gets
 * JSON lines; a person at a terminal gets short readable lines (GATEWAY_LOG_FORMAT forces
 * either).
 */
export const LOG_FORMAT_SETTINGS = ["auto", "json", "pretty"] as const;
export type LogFormatSetting = (typeof LOG_FORMAT_SETTINGS)[number];
export type LogFormat = "json" | "pretty";

export interface OutputFacts {
  /** Whether stdout is a terminal (process.stdout.isTTY). */
  isTTY: boolean;
  /** Whether the platform injected its variables: there, stdout is collected, not read. */
  onDatabricksApps: boolean;
}

export function resolveLogFormat(setting: LogFormatSetting, facts: OutputFacts): LogFormat {
  if (setting !== "auto") return setting;
  return facts.isTTY && !facts.onDatabricksApps ? "pretty" : "json";
}

/** The facts of this process: Databricks Apps always sets DATABRICKS_APP_NAME and DATABRICKS_APP_PORT. */
export function outputFactsOf(env: NodeJS.ProcessEnv, stdout: { isTTY?: boolean }): OutputFacts {
  return {
    isTTY: stdout.isTTY === true,
    onDatabricksApps: env["DATABRICKS_APP_NAME"] !== undefined || env["DATABRICKS_APP_PORT"] !== undefined,
  };
}

/**
 * The format to report a configuration failure in, before the configuration exists: the
 * setting when it is valid, otherwise what "auto" would choose.
 */
export function logFormatBeforeConfig(env: NodeJS.ProcessEnv, stdout: { isTTY?: boolean }): LogFormat {
  const raw = env["GATEWAY_LOG_FORMAT"]?.trim().toLowerCase();
  const setting = LOG_FORMAT_SETTINGS.find((value) => value === raw) ?? "auto";
  return resolveLogFormat(setting, outputFactsOf(env, stdout));
}

/**
 * Colours only on a terminal that supports them; Node's hasColors() honours NO_COLOR,
 * FORCE_COLOR and TERM=dumb.
 */
export function streamHasColors(stream: NodeJS.WritableStream): boolean {
  const tty = stream as NodeJS.WritableStream & { isTTY?: boolean; hasColors?: () => boolean };
  return tty.isTTY === true && typeof tty.hasColors === "function" && tty.hasColors();
}
