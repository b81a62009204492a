import winston from "winston";

/** Fields every line shows in its columns, or that only matter to a machine reading JSON. */
const COLUMN_FIELDS = new Set(["level", "message", "source", "time", "timestamp", "event", "stream", "pid", "requestId"]);
/** Beyond this the fields of one line are cut: the JSON format keeps them whole. */
const MAX_FIELDS_CHARS = 400;
const LEVEL_WIDTH = 5;
const SOURCE_WIDTH = 7;
const ANSI = /\u001b\[[0-9;]*m/g;
const BOLD_GREEN = (text: string): string => `\u001b[1;32m${text}\u001b[0m`;

/**
 * The readable format for a person at a terminal, built from winston's own formats:
 * `17:23:41 info  gateway message key=value ...`, the level coloured when the terminal
 * has colours, and the ready line (event "ready") in bold green, without its fields, so it stands out.
 */
export function prettyFormat(colors: boolean): winston.Logform.Format {
  const parts = [winston.format.timestamp({ format: "HH:mm:ss" })];
  if (colors) parts.push(winston.format.colorize({ level: true }));
  parts.push(
    winston.format.printf((info) => {
      const level = padVisible(String(info.level), LEVEL_WIDTH);
      const source = (typeof info["source"] === "string" ? info["source"] : "gateway").padEnd(SOURCE_WIDTH);
      const text = String(info.message);
      const ready = info["event"] === "ready";
      const message = colors && ready ? BOLD_GREEN(text) : text;
      // The ready line's fields repeat its sentence for machines reading JSON; a person reads the sentence.
      const fields = ready ? "" : describeFields(info);
      return `${String(info["timestamp"])} ${level} ${source} ${message}${fields === "" ? "" : `  ${fields}`}`;
    }),
  );
  return winston.format.combine(...parts);
}

/** `key=value` for the fields a line carries besides its columns, strings quoted only when they must be. */
export function describeFields(info: Record<string, unknown>): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(info)) {
    if (COLUMN_FIELDS.has(key) || value === undefined || value === null || value === "") continue;
    pairs.push(`${key}=${describeValue(value)}`);
  }
  const text = pairs.join(" ");
  return text.length > MAX_FIELDS_CHARS ? `${text.slice(0, MAX_FIELDS_CHARS)}...` : text;
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item !== "object" || item === null)) return value.map(describeValue).join(",");
  return JSON.stringify(value);
}

/** Pads to a visible width: a coloured level carries invisible escape codes. */
function padVisible(text: string, width: number): string {
  const visible = text.replace(ANSI, "").length;
  return visible >= width ? text : text + " ".repeat(width - visible);
}
