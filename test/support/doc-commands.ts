// The commands the project's Markdown tells a reader to type, read the same way for every
// page: shell code blocks line by line (continuations joined, `$ ` prompts and comments
// dropped, variable settings set aside as setup) and command-shaped inline code in the prose.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./gateway-process.js";

/** Code blocks in these languages hold commands; `text` holds output, the rest are files or other languages. */
export const SHELL_LANGUAGES: ReadonlySet<string> = new Set(["sh", "bash", "shell", "console"]);

/**
 * Programs a reader runs. An inline code span, or an unmarked block's first line, that starts
 * with one of them (after any `NAME=value` settings) is a command; `mlflow server` is not: it
 * names the child process the gateway starts, never something the reader types.
 */
const PROGRAMS =
  /^(?:[A-Z_][A-Z0-9_]*=\S* )*(?:npm|npx|node|databricks|curl|bash|python3?|pip|pip-audit|uv|git|jq|openssl|apt-get|brew|docker|mlflow(?! server\b)|\.venv\/bin\/\S+|examples\/\S+|scripts\/\S+)(?: |$)/;

export interface DocCommand {
  /** The page, relative to the repository root. */
  file: string;
  /** The line the command starts on (1-based). */
  line: number;
  /** The command with continuations joined, whitespace collapsed and the trailing comment dropped. */
  text: string;
  /** The comment line right above it in its block ("" for none or for inline code). */
  comment: string;
  kind: "block" | "inline";
}

export interface DocSetup {
  file: string;
  line: number;
  /** The variables the line sets. */
  names: string[];
  text: string;
}

export interface CodeBlock {
  file: string;
  /** The line of the opening fence (1-based). */
  line: number;
  lang: string;
  lines: string[];
}

/** The pages whose commands are held to account: the README, docs/, the examples' and the tests' guides. */
export function docFiles(): string[] {
  const docs = readdirSync(path.join(REPO_ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs, "examples/README.md", "test/README.md", "test/emulator/README.md"].filter((file) =>
    existsSync(path.join(REPO_ROOT, file)),
  );
}

function readDoc(file: string): string[] {
  return readFileSync(path.join(REPO_ROOT, file), "utf8").split("\n");
}

/** The fenced code blocks of a page (fences may be indented, as inside a list item). */
export function codeBlocks(file: string, lines = readDoc(file)): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)```\s*([\w-]*)\s*$/.exec(lines[i] ?? "");
    if (open === null) continue;
    const indent = open[1] ?? "";
    const end = lines.findIndex((line, j) => j > i && line.trim() === "```");
    if (end === -1) throw new Error(`${file}:${i + 1}: a code block that is never closed`);
    blocks.push({ file, line: i + 1, lang: open[2] ?? "", lines: lines.slice(i + 1, end).map((line) => line.replace(indent, "")) });
    i = end;
  }
  return blocks;
}

/** `text` up to its first `#` comment outside quotes (a `#` that starts a word). */
export function withoutComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"') i += 1;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "\\") i += 1;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1] ?? ""))) return text.slice(0, i).trimEnd();
  }
  return text;
}

const collapse = (text: string): string => text.replace(/\s+/g, " ").trim();

/**
 * A variable setting without a command: `NAME=value` or `export NAME=value ...`, none of
 * whose values runs anything (`$(...)`, backquotes). Such lines set up the next command.
 */
export function setupNames(text: string): string[] | undefined {
  if (/\$\(|`/.test(text)) return undefined;
  const words = splitWords(text);
  const assignments = words[0] === "export" ? words.slice(1) : words;
  if (assignments.length === 0 || !assignments.every((word) => /^[A-Za-z_]\w*=/.test(word))) return undefined;
  return assignments.map((word) => word.slice(0, word.indexOf("=")));
}

/** The commands and the setup lines of one shell block. */
function blockCommands(block: CodeBlock): { commands: DocCommand[]; setup: DocSetup[] } {
  const commands: DocCommand[] = [];
  const setup: DocSetup[] = [];
  const console = block.lang === "console";
  let comment = "";
  let pending: { line: number; text: string } | undefined;
  block.lines.forEach((raw, index) => {
    let line = raw;
    if (pending === undefined) {
      if (console && !line.startsWith("$ ")) return; // console output
      line = line.replace(/^\$ /, "");
      if (line.trim().startsWith("#")) {
        comment = line.trim().replace(/^#+\s*/, "");
        return;
      }
      if (line.trim() === "") {
        comment = "";
        return;
      }
    }
    const continued = line.endsWith("\\");
    const part = continued ? line.slice(0, -1) : line;
    pending = { line: pending?.line ?? block.line + 1 + index, text: `${pending?.text ?? ""} ${part}` };
    if (continued) return;
    const text = collapse(withoutComment(collapse(pending.text)));
    const names = setupNames(text);
    if (names !== undefined) setup.push({ file: block.file, line: pending.line, names, text });
    else if (text !== "") commands.push({ file: block.file, line: pending.line, text, comment, kind: "block" });
    pending = undefined;
  });
  return { commands, setup };
}

/** Inline code spans in the prose (outside code blocks) that are commands. */
function inlineCommands(file: string, lines: string[], blocks: CodeBlock[]): DocCommand[] {
  const inBlock = new Set(blocks.flatMap((b) => Array.from({ length: b.lines.length + 2 }, (_, i) => b.line + i)));
  const found: DocCommand[] = [];
  lines.forEach((line, index) => {
    if (inBlock.has(index + 1)) return;
    for (const [, span] of line.matchAll(/(?<!`)`([^`]+)`(?!`)/g)) {
      const text = collapse(span ?? "");
      if (PROGRAMS.test(text) && text.includes(" ")) found.push({ file, line: index + 1, text, comment: "", kind: "inline" });
    }
  });
  return found;
}

export interface DocCommands {
  commands: DocCommand[];
  setup: DocSetup[];
  /** Blocks without a language whose first line is a command: they should say `sh`. */
  unmarkedCommandBlocks: CodeBlock[];
}

/** Every command of every page in docFiles(), in page order. */
export function readDocCommands(files = docFiles()): DocCommands {
  const result: DocCommands = { commands: [], setup: [], unmarkedCommandBlocks: [] };
  for (const file of files) {
    const lines = readDoc(file);
    const blocks = codeBlocks(file, lines);
    const fromBlocks: DocCommand[] = [];
    for (const block of blocks) {
      if (SHELL_LANGUAGES.has(block.lang)) {
        const { commands, setup } = blockCommands(block);
        fromBlocks.push(...commands);
        result.setup.push(...setup);
      } else if (block.lang === "" && PROGRAMS.test((block.lines.find((l) => l.trim() !== "") ?? "").trim().replace(/^\$ /, ""))) {
        result.unmarkedCommandBlocks.push(block);
      }
    }
    result.commands.push(...[...fromBlocks, ...inlineCommands(file, lines, blocks)].sort((a, b) => a.line - b.line));
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// Reading a command line as the shell would, enough to check its programs and arguments

/** Words of a simple command, quotes removed (`$(...)` kept as one word). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let started = false;
  let quote: string | undefined;
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] ?? "";
    if (depth > 0) {
      word += c;
      if (c === "(") depth += 1;
      if (c === ")") depth -= 1;
    } else if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === "$" && text[i + 1] === "(" && quote === '"') {
        word += "$(";
        depth = 1;
        i += 1;
      } else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === "<" && /^<[a-z][\w .-]*>/i.test(text.slice(i))) {
      // A placeholder such as <app name> is one word, not a redirection.
      const end = text.indexOf(">", i);
      word += text.slice(i, end + 1);
      started = true;
      i = end;
    } else if (c === "$" && text[i + 1] === "(") {
      word += "$(";
      depth = 1;
      started = true;
      i += 1;
    } else if (/\s/.test(c)) {
      if (started || word !== "") words.push(word);
      word = "";
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (started || word !== "") words.push(word);
  return words;
}

/**
 * The simple commands of a line, split at `|`, `&&`, `||` and `;` outside quotes and `$(...)`,
 * each without its leading `NAME=value` settings and its redirections (`> file`).
 */
export function simpleCommands(text: string): string[][] {
  const parts: string[] = [];
  let current = "";
  let quote: string | undefined;
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] ?? "";
    if (quote === undefined && depth === 0 && (c === "|" || c === ";" || (c === "&" && text[i + 1] === "&"))) {
      parts.push(current);
      current = "";
      if (text[i + 1] === c) i += 1;
      continue;
    }
    if (quote === undefined && c === "$" && text[i + 1] === "(") depth += 1;
    else if (quote === undefined && depth > 0 && c === ")") depth -= 1;
    else if (quote === undefined && (c === "'" || c === '"')) quote = c;
    else if (c === quote) quote = undefined;
    current += c;
  }
  parts.push(current);
  return parts
    .map((part) => {
      const words = splitWords(part.trim());
      while (words.length > 0 && /^[A-Za-z_]\w*=/.test(words[0] ?? "") && words.length > 1) words.shift();
      if (words[0] === "export" && words.length === 2) return words;
      const kept: string[] = [];
      for (let i = 0; i < words.length; i += 1) {
        const word = words[i] ?? "";
        if (/^<[a-z][^>]*>/i.test(word)) kept.push(word);
        else if (/^\d?[<>]{1,2}&?\d*$/.test(word)) i += /&\d$/.test(word) ? 0 : 1;
        else if (!/^\d?[<>]/.test(word)) kept.push(word);
      }
      return kept;
    })
    .filter((words) => words.length > 0);
}
