// Checks of a documented command's program and arguments against what the repository really
// has: package.json's scripts, the options each of our CLIs parses, the paths the gateway
// serves, the bundle's names, and for the programs we do not own (the databricks and mlflow
// CLIs) their sources. Used for the commands no test can run here, and for the others too.

import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { AUDIT_QUERY_PARAMETERS, parseAuditQuery } from "../../../src/audit/audit-query.js";
import { MIN_HMAC_KEY_LENGTH } from "../../../src/config/audit-config.js";
import { DEFAULT_PORT } from "../../../src/config/load-config.js";
import { ADMIN_PAGES } from "../../../src/http/admin-pages.js";
import { GATEWAY_ENDPOINTS } from "../../../src/http/gateway-endpoints.js";
import { parseOptions as parseBenchOptions } from "../../../scripts/bench/bench-options.js";
import { bundleAppKey, type BundleTarget, bundleResources, bundleTargets, hmacKeySecret } from "../../support/bundle.js";
import { simpleCommands } from "../../support/doc-commands.js";
import { REPO_ROOT } from "../../support/gateway-process.js";

export interface CheckContext {
  /** Every documented command: some checks look across commands. */
  all: readonly string[];
}

export interface CheckResult {
  /** What was checked and held, one line each. */
  checked: string[];
  problems: string[];
}

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), "utf8");
const packageScripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;

/** `npm run <script>` with its script's text, for reading what a command runs. */
export function expandScript(text: string): string {
  return text.replace(/\bnpm (?:run (?:--silent )?)?([\w:-]+)/g, (whole, script: string) => packageScripts[script] ?? whole);
}

/** A word that stands for the reader's own value: `<app name>`, `m-...`. */
function isPlaceholder(word: string): boolean {
  return /<[^>]*>/.test(word) || word.includes("...");
}

/** The simple commands of a line and of every `$(...)` in it (not `$((...))` arithmetic). */
function programsOf(text: string): string[][] {
  const found: string[][] = [];
  for (const words of simpleCommands(text)) {
    found.push(words);
    for (const word of words) {
      for (const [, inner] of word.matchAll(/\$\((?!\()(.*)\)/g)) found.push(...programsOf(inner ?? ""));
    }
  }
  return found;
}

type Checker = (words: string[], context: CheckContext, out: CheckResult) => void;

export function checkArguments(text: string, context: CheckContext): CheckResult {
  const out: CheckResult = { checked: [], problems: [] };
  for (const words of programsOf(text)) {
    checkerFor(words[0] ?? "")?.(words, context, out);
  }
  return out;
}

/** Programs without a checker (jq, sed, mv, ...) are run by the tests that run their commands, or named in `agrees`. */
function checkerFor(program: string): Checker | undefined {
  if (program in CHECKERS) return CHECKERS[program];
  if (program.endsWith("/python")) return checkPython;
  if (program.startsWith(".venv/bin/")) return checkVenvProgram;
  if (/^(examples|scripts)\//.test(program)) return checkScript;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// npm and the project's scripts

function checkNpm(words: string[], context: CheckContext, out: CheckResult): void {
  const [verb, ...rest] = words.slice(1).filter((word) => word !== "--silent" && word !== "-s");
  // npm's own commands (install, ci, audit) are npm's: an entry says which file agrees with them.
  if (verb !== "run" && verb !== "test" && verb !== "start") return;
  const [script = "", ...after] = verb === "run" ? rest : [verb, ...rest];
  if (!(script in packageScripts)) {
    out.problems.push(`npm run ${script}: package.json has no script "${script}" (it has ${Object.keys(packageScripts).join(", ")})`);
    return;
  }
  out.checked.push(`package.json has the script "${script}"`);
  if (after.length > 0 && after[0] !== "--") out.problems.push(`npm ${verb} ${script} ${after.join(" ")}: the script's arguments go after --`);
  const passed = after.slice(1);
  const scriptArguments = SCRIPT_ARGUMENTS[script];
  if (scriptArguments !== undefined) scriptArguments(passed, context, out);
  else if (passed.length > 0)
    out.problems.push(`npm run ${script} -- ${passed.join(" ")}: "${packageScripts[script] ?? ""}" takes no arguments here`);
}

/** The options of each `parseArgs({ ... options: {...} })` call in a source file, by the function it is in. */
function parseArgsOptions(file: string, inFunction?: string): Map<string, "string" | "boolean"> {
  let text = read(file);
  if (inFunction !== undefined) {
    const start = text.indexOf(`function ${inFunction}(`);
    if (start === -1) throw new Error(`${file} has no function ${inFunction}`);
    const end = text.indexOf("\nfunction ", start + 1);
    const asyncEnd = text.indexOf("\nasync function ", start + 1);
    text = text.slice(start, Math.min(...[end, asyncEnd, text.length].filter((i) => i !== -1)));
  }
  return new Map([...text.matchAll(/"?([a-z][\w-]*)"?: \{ type: "(string|boolean)"/g)].map((m) => [`--${m[1] ?? ""}`, m[2] as "string" | "boolean"]));
}

/** `npm run audit -- verify|search ...`: the subcommand, its options (src/cli/audit.ts), and the search's values. */
function checkAuditArguments(args: string[], _context: CheckContext, out: CheckResult): void {
  const [command, ...rest] = args;
  if (command === undefined) return;
  const cli = read("src/cli/audit.ts");
  if (!cli.includes(`command === "${command}"`)) {
    out.problems.push(`npm run audit -- ${command}: src/cli/audit.ts has no command "${command}"`);
    return;
  }
  const options =
    command === "verify"
      ? Object.fromEntries([...parseArgsOptions("src/cli/audit.ts", "verify")].map(([flag, type]) => [flag.slice(2), { type, multiple: true }]))
      : Object.fromEntries([...AUDIT_QUERY_PARAMETERS, "format"].map((name) => [name, { type: "string" as const }]));
  assertFound(Object.keys(options), `the options of audit ${command}`);
  // A synopsis's `--person ...`: the option is checked, its stand-in value is not.
  const PLACEHOLDER = "placeholder-value";
  const concrete = rest.map((word) => (isPlaceholder(word) ? PLACEHOLDER : word));
  try {
    const { values } = parseArgs({ args: concrete, options, allowPositionals: true, strict: true });
    const named = Object.keys(values).map((name) => `--${name}`);
    out.checked.push(`audit ${command} accepts ${named.join(", ") || "no option"}`);
    if (command === "search") {
      const get = (name: string): string | undefined => (values[name] === PLACEHOLDER ? undefined : (values[name] as string | undefined));
      const { problems } = parseAuditQuery(get);
      out.problems.push(...problems.map((problem) => `npm run audit -- search: --${problem}`));
      if (!["table", "json", undefined].includes(get("format"))) out.problems.push(`npm run audit -- search: --format ${get("format") ?? ""}`);
    }
  } catch (error) {
    out.problems.push(`npm run audit -- ${args.join(" ")}: ${(error as Error).message}`);
  }
}

/** `npm run bench -- ...`: through the benchmark's own option parser. */
function checkBenchArguments(args: string[], _context: CheckContext, out: CheckResult): void {
  try {
    parseBenchOptions(args, "bench-output");
    out.checked.push(`scripts/bench/bench-options.ts accepts ${args.join(" ") || "no options"}`);
  } catch (error) {
    out.problems.push(`npm run bench -- ${args.join(" ")}: ${(error as Error).message}`);
  }
}

interface ArgparseOptions {
  /** Each option and whether it takes a value. */
  flags: Map<string, boolean>;
  required: string[];
  /** The values a first positional argument may take, when argparse lists them. */
  choices: string[] | undefined;
}

/** The options a Python program's argparse parser declares (one `add_argument` call after another). */
function argparseOptions(file: string): ArgparseOptions {
  const calls = read(file)
    .split(/\badd_argument\(/)
    .slice(1);
  const flags = new Map<string, boolean>();
  const required: string[] = [];
  let choices: string[] | undefined;
  for (const chunk of calls) {
    // The call ends at the first ")" that ends a line (a help text may hold parentheses).
    const call = chunk.slice(0, chunk.indexOf(")\n") + 1 || undefined);
    const flag = /^"(--[\w-]+)"/.exec(call)?.[1];
    if (flag === undefined) {
      const listed = /^"\w+", choices=\[([^\]]*)\]/.exec(call)?.[1];
      if (listed !== undefined) choices = [...listed.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? "");
      continue;
    }
    flags.set(flag, !/action="store_true"/.test(call));
    if (/required=True/.test(call)) required.push(flag);
  }
  return { flags, required, choices };
}

function checkArgparse(file: string, args: string[], out: CheckResult): void {
  const { flags, required, choices } = argparseOptions(file);
  assertFound([...flags.keys()], `the options of ${file}`);
  const words = args.map((word) => word.replace(/^\[|\]$/g, "")).filter((word) => word !== "");
  const given = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? "";
    const flag = word.split("=")[0] ?? "";
    if (!flag.startsWith("--")) {
      positionals.push(word);
      continue;
    }
    if (!flags.has(flag)) out.problems.push(`${flag}: ${file} has no such option (it has ${[...flags.keys()].join(", ")})`);
    given.add(flag);
    if (flags.get(flag) === true && !word.includes("=")) i += 1;
  }
  const first = positionals[0];
  if (choices !== undefined && first !== undefined && !isPlaceholder(first) && !choices.includes(first))
    out.problems.push(`${first}: ${file} takes ${choices.join(" or ")}`);
  if (given.size > 0 || positionals.length > 0) {
    const missing = required.filter((flag) => !given.has(flag));
    if (missing.length > 0) out.problems.push(`${file} requires ${missing.join(", ")}`);
  }
  out.checked.push(`${file} declares ${[...given].join(", ") || "its arguments"}`);
}

/** `npm run migrate -- copy|verify ...`: the migration tool's argparse options. */
function checkMigrateArguments(args: string[], _context: CheckContext, out: CheckResult): void {
  checkArgparse("scripts/migrate/mlflow_migrate/__main__.py", args, out);
}

const EMULATOR_CLI = "test/emulator/cli.ts";

function checkEmulatorArguments(args: string[], _context: CheckContext, out: CheckResult): void {
  const options = parseArgsOptions(EMULATOR_CLI);
  assertFound([...options.keys()], `the options of ${EMULATOR_CLI}`);
  const flags = args.map((word) => word.replace(/^\[|\]$/g, "")).filter((word) => word.startsWith("--"));
  const unknown = flags.filter((flag) => !options.has(flag.split("=")[0] ?? ""));
  if (unknown.length > 0) out.problems.push(`${unknown.join(", ")}: ${EMULATOR_CLI} takes ${[...options.keys()].join(", ")}`);
  else out.checked.push(`${EMULATOR_CLI} takes ${flags.join(", ") || "no option"}`);
}

const SCRIPT_ARGUMENTS: Record<string, Checker> = {
  audit: checkAuditArguments,
  bench: checkBenchArguments,
  migrate: checkMigrateArguments,
  emulator: checkEmulatorArguments,
};

// ---------------------------------------------------------------------------------------
// node, python and our own scripts

function checkNode(words: string[], context: CheckContext, out: CheckResult): void {
  const positionals: string[] = [];
  for (let i = 1; i < words.length; i += 1) {
    const word = words[i] ?? "";
    if (word === "--import" || word === "--require") i += 1;
    else if (!word.startsWith("-") && !word.startsWith("[")) positionals.push(word);
  }
  if (words.includes("--test")) {
    for (const pattern of positionals) {
      const matched = expandGlob(pattern);
      if (matched.length === 0) out.problems.push(`${pattern}: matches no file`);
      else out.checked.push(`${pattern} matches ${matched.length} files`);
    }
    return;
  }
  const file = positionals[0];
  if (file === undefined || isPlaceholder(file)) return;
  if (!existsSync(path.join(REPO_ROOT, file))) out.problems.push(`node ${file}: no such file`);
  else out.checked.push(`${file} exists`);
  if (file === EMULATOR_CLI) checkEmulatorArguments(words.slice(words.indexOf(file) + 1), context, out);
}

/** A `dir/*.suffix` pattern, as the shell expands it (the only kind the docs use). */
function expandGlob(pattern: string): string[] {
  const dir = path.dirname(pattern);
  const name = new RegExp(`^${path.basename(pattern).replace(/[.+]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
  if (!existsSync(path.join(REPO_ROOT, dir))) return [];
  return readdirSync(path.join(REPO_ROOT, dir)).filter((file) => name.test(file));
}

function checkPython(words: string[], _context: CheckContext, out: CheckResult): void {
  const index = words.findIndex((word, i) => i > 0 && !word.startsWith("-"));
  const file = words[index];
  if (file === undefined || isPlaceholder(file)) return;
  if (!existsSync(path.join(REPO_ROOT, file))) {
    out.problems.push(`python ${file}: no such file`);
    return;
  }
  checkArgparse(file, words.slice(index + 1), out);
}

/** One of our scripts run by its path: it exists, may be executed, and gets as many arguments as it checks for. */
function checkScript(words: string[], _context: CheckContext, out: CheckResult): void {
  const file = words[0] ?? "";
  if (isPlaceholder(file)) return;
  try {
    accessSync(path.join(REPO_ROOT, file), constants.X_OK);
  } catch {
    out.problems.push(`${file}: no such executable file`);
    return;
  }
  const expected = /\$# -ne (\d+)/.exec(read(file))?.[1];
  if (expected !== undefined && words.length - 1 !== Number(expected))
    out.problems.push(`${file} takes ${expected} arguments, the doc gives ${words.length - 1}`);
  out.checked.push(`${file} is executable${expected === undefined ? "" : ` and takes ${expected} arguments`}`);
}

/** A program of the project's virtualenv: set-up installs it (.venv exists wherever the suite runs). */
function checkVenvProgram(words: string[], _context: CheckContext, out: CheckResult): void {
  const program = words[0] ?? "";
  if (existsSync(path.join(REPO_ROOT, program))) out.checked.push(`set-up's virtualenv has ${program}`);
  else out.problems.push(`${program}: the virtualenv set-up makes has no such program`);
}

function checkBash(words: string[], _context: CheckContext, out: CheckResult): void {
  const file = words[1];
  if (file === undefined || file.startsWith("-")) return;
  if (existsSync(path.join(REPO_ROOT, file))) out.checked.push(`${file} exists`);
  else out.problems.push(`bash ${file}: no such file`);
}

// ---------------------------------------------------------------------------------------
// The gateway's own endpoints

function checkCurl(words: string[], _context: CheckContext, out: CheckResult): void {
  for (const word of words.slice(1)) {
    const url = /^https?:\/\/([^/]+)(\/[^?#]*)?/.exec(word);
    if (url === null) continue;
    const [, host = "", pathname = "/"] = url;
    if (/^localhost(:|$)/.test(host) && host !== `localhost:${DEFAULT_PORT}`)
      out.problems.push(`${word}: the gateway's local port is ${DEFAULT_PORT}`);
    if ((GATEWAY_ENDPOINTS as readonly string[]).includes(pathname) || (ADMIN_PAGES as readonly string[]).includes(pathname))
      out.checked.push(`the gateway serves ${pathname}`);
    else out.problems.push(`${word}: ${pathname} is none of the gateway's own paths (${[...GATEWAY_ENDPOINTS, ...ADMIN_PAGES].join(", ")})`);
  }
}

// ---------------------------------------------------------------------------------------
// The databricks CLI, which cannot run here (no workspace): its commands and the bundle's names

interface CliCommand {
  /** Fewest and most positional arguments. */
  args: [number, number];
  /** Its options, and whether each takes a value. */
  flags: Record<string, boolean>;
  /** Where databricks/cli (commit 7bbe285) declares it. */
  source: string;
}

const GLOBAL_FLAGS = { "--profile": true, "-p": true, "--output": true, "-o": true, "--debug": false, "--log-level": true };
const TARGET_FLAGS = { "--target": true, "-t": true, "--var": true };
const WAIT_FLAGS = { "--no-wait": false, "--timeout": true, "--json": true };

const DATABRICKS_CLI: Record<string, CliCommand> = {
  "auth login": {
    args: [0, 1],
    flags: { "--host": true, "--account-id": true, "--workspace-id": true, "--timeout": true, "--configure-cluster": false, "--scopes": true },
    source: "cmd/auth/login.go, cmd/auth/auth.go",
  },
  "auth token": {
    args: [0, 1],
    flags: { "--host": true, "--account-id": true, "--workspace-id": true, "--timeout": true, "--force-refresh": false },
    source: "cmd/auth/token.go, cmd/auth/auth.go",
  },
  "bundle deploy": {
    args: [0, 0],
    flags: { ...TARGET_FLAGS, "--force": false, "--force-lock": false, "--auto-approve": false, "--fail-on-active-runs": false },
    source: "cmd/bundle/deploy.go, cmd/root/bundle.go",
  },
  "bundle run": { args: [0, 1], flags: { ...TARGET_FLAGS, "--no-wait": false, "--restart": false }, source: "cmd/bundle/run.go" },
  "secrets create-scope": {
    args: [1, 1],
    flags: { "--initial-manage-principal": true, "--scope-backend-type": true, "--json": true },
    source: "cmd/workspace/secrets/secrets.go",
  },
  "secrets put-secret": {
    args: [2, 2],
    flags: { "--string-value": true, "--bytes-value": true, "--json": true },
    source: "cmd/workspace/secrets/put_secret.go",
  },
  "volumes create": {
    args: [4, 4],
    flags: { "--comment": true, "--storage-location": true, "--json": true },
    source: "cmd/workspace/volumes/volumes.go (create CATALOG_NAME SCHEMA_NAME NAME VOLUME_TYPE)",
  },
  "apps create": { args: [1, 1], flags: { ...WAIT_FLAGS, "--description": true, "--source-code-path": true }, source: "cmd/workspace/apps/apps.go" },
  "apps deploy": {
    args: [1, 1],
    flags: { ...WAIT_FLAGS, "--source-code-path": true, "--mode": true, "--deployment-id": true },
    source: "cmd/workspace/apps/apps.go",
  },
  "apps get": { args: [1, 1], flags: {}, source: "cmd/workspace/apps/apps.go" },
  "apps logs": {
    args: [1, 1],
    flags: { "--tail-lines": true, "--follow": false, "-f": false, "--timeout": true, "--search": true, "--source": true, "--output-file": true },
    source: "cmd/apps/logs.go",
  },
  "workspace mkdirs": { args: [1, 1], flags: { "--json": true }, source: "cmd/workspace/workspace/workspace.go" },
  sync: {
    args: [2, 2],
    flags: { "--full": false, "--watch": false, "--interval": true, "--exclude": true, "--include": true, "--dry-run": false },
    source: "cmd/sync/sync.go",
  },
};

function checkDatabricks(words: string[], context: CheckContext, out: CheckResult): void {
  const name = [words[1], words[2]].join(" ") in DATABRICKS_CLI ? [words[1], words[2]].join(" ") : (words[1] ?? "");
  const cli = DATABRICKS_CLI[name];
  if (cli === undefined) {
    out.problems.push(
      `databricks ${words.slice(1, 3).join(" ")}: a databricks command this test does not know; add it to DATABRICKS_CLI with its source`,
    );
    return;
  }
  const rest = words.slice(1 + name.split(" ").length);
  const flags: Record<string, boolean> = { ...GLOBAL_FLAGS, ...cli.flags };
  const positionals: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 1) {
    const word = rest[i] ?? "";
    if (!word.startsWith("-")) {
      positionals.push(word);
      continue;
    }
    const flag = word.split("=")[0] ?? "";
    if (!(flag in flags)) out.problems.push(`databricks ${name} ${flag}: no such option (${cli.source})`);
    else if (flags[flag] === true) values.set(flag, word.includes("=") ? word.slice(word.indexOf("=") + 1) : (rest[(i += 1)] ?? ""));
  }
  // A command named in prose (`databricks apps logs`) has no arguments at all: its name is what is checked.
  if (rest.length === 0) {
    out.checked.push(`databricks ${name} exists (${cli.source})`);
    return;
  }
  const [fewest, most] = cli.args;
  if (positionals.length < fewest || positionals.length > most)
    out.problems.push(
      `databricks ${name} takes ${fewest === most ? fewest : `${fewest}-${most}`} arguments, the doc gives ${positionals.length} (${cli.source})`,
    );
  else out.checked.push(`databricks ${name} takes these arguments and options (${cli.source})`);
  checkBundleNames(name, positionals, values, context, out);
}

/** The names a databricks command uses are those of a bundle target (the by-hand route uses prod's). */
function checkBundleNames(name: string, positionals: string[], values: Map<string, string>, context: CheckContext, out: CheckResult): void {
  const targets = bundleTargets();
  const [first = "", second = ""] = positionals;
  const known = (fits: BundleTarget[], what: string): void => {
    if (fits.length === 0) out.problems.push(`databricks ${name}: ${what} of no bundle target (${targets.map((t) => t.name).join(", ")})`);
    else out.checked.push(`${what} of the ${fits.map((t) => t.name).join(", ")} target`);
  };
  const target = values.get("--target") ?? values.get("-t");
  if (name === "secrets put-secret") {
    const secret = hmacKeySecret();
    if (second !== secret?.key)
      out.problems.push(`databricks secrets put-secret: the key is ${second}, app.yaml's GATEWAY_AUDIT_HMAC_KEY reads "${secret?.key ?? "?"}"`);
    known(
      targets.filter((t) => t.scope === first),
      `the secret scope ${first}`,
    );
    const keyFile = /^\$\(cat (\S+)\)$/.exec(values.get("--string-value") ?? "")?.[1];
    if (keyFile !== undefined) checkKeyFile(keyFile, context, out);
  } else if (name === "secrets create-scope") {
    known(
      targets.filter((t) => t.scope === first),
      `the secret scope ${first}`,
    );
  } else if (name === "bundle deploy" || name === "bundle run") {
    if (name === "bundle run" && first !== bundleAppKey)
      out.problems.push(`databricks bundle run ${first}: the bundle's app resource is ${bundleAppKey ?? "?"}`);
    known(
      targets.filter((t) => t.name === target),
      `-t ${target ?? "(none)"}`,
    );
  } else if (name.startsWith("apps ") && !isPlaceholder(first)) {
    known(
      targets.filter((t) => t.appName === first),
      `the app ${first}`,
    );
  } else if (name === "volumes create") {
    const [catalog, schema, volume, type] = positionals;
    known(
      targets.filter((t) => t.catalog === catalog && t.schema === schema && t.volume === volume),
      `the volume ${catalog ?? ""}.${schema ?? ""}.${volume ?? ""}`,
    );
    const bundleType = Object.values(bundleResources.volumes)[0]?.volume_type;
    if (type !== bundleType) out.problems.push(`databricks volumes create: the type is ${type ?? ""}, the bundle's volume is ${bundleType ?? "?"}`);
  } else if (name === "sync") {
    const deployed = context.all.some((command) => command.includes(`--source-code-path ${second}`));
    if (first !== "." || !deployed)
      out.problems.push(`databricks sync ${first} ${second}: the checkout to the folder an apps deploy --source-code-path names`);
    else out.checked.push(`sync copies the checkout to the folder apps deploy deploys`);
  }
}

/**
 * The secret's value read from a file: a documented command writes the key to that file, and
 * git ignores it, so `databricks sync` (which honours .gitignore) never uploads the key.
 */
function checkKeyFile(file: string, context: CheckContext, out: CheckResult): void {
  const written = context.all.some((command) => new RegExp(`openssl rand [^>]*> ${file.replace(/[.]/g, "\\.")}$`).test(command));
  if (!written) out.problems.push(`--string-value "$(cat ${file})": no documented command writes ${file}`);
  const ignored = spawnSync("git", ["check-ignore", "--quiet", "--no-index", file], { cwd: REPO_ROOT }).status === 0;
  if (!ignored) out.problems.push(`${file} holds the digest key and git does not ignore it: add it to .gitignore`);
  if (written && ignored) out.checked.push(`${file} is written by a documented command and git-ignored`);
}

/** `openssl rand ...`, run: it makes a key the gateway accepts for its audit digests. */
function checkOpenssl(words: string[], _context: CheckContext, out: CheckResult): void {
  if (words[1] !== "rand") return;
  const key = execFileSync(words[0] ?? "openssl", words.slice(1), { encoding: "utf8" }).trim();
  if (key.length < MIN_HMAC_KEY_LENGTH)
    out.problems.push(`${words.join(" ")} makes a ${key.length}-character key; the gateway needs ${MIN_HMAC_KEY_LENGTH}`);
  else out.checked.push(`${words.join(" ")} makes a key the gateway accepts (${key.length} characters)`);
}

// ---------------------------------------------------------------------------------------
// The mlflow CLI of the project's virtualenv (its click sources)

const MLFLOW_CLI_SOURCES: Record<string, string> = { runs: "runs.py", artifacts: "store/artifact/cli.py" };

export function mlflowPackageDir(): string {
  const lib = path.join(REPO_ROOT, ".venv/lib");
  const python = readdirSync(lib).find((name) => name.startsWith("python"));
  return path.join(lib, python ?? "python3", "site-packages/mlflow");
}

function checkMlflow(words: string[], _context: CheckContext, out: CheckResult): void {
  const [, group = "", command = ""] = words;
  const source = MLFLOW_CLI_SOURCES[group];
  if (source === undefined) {
    out.problems.push(`mlflow ${group}: add its source file to MLFLOW_CLI_SOURCES`);
    return;
  }
  const text = readFileSync(path.join(mlflowPackageDir(), source), "utf8");
  const start = text.indexOf(`@commands.command("${command}")`);
  if (start === -1) {
    out.problems.push(`mlflow ${group} ${command}: no such command in mlflow/${source}`);
    return;
  }
  const decorators = text.slice(start, text.indexOf("\ndef ", start)).split("@click.option(").slice(1);
  const options = decorators.map((option) => ({ flag: /"(--[\w-]+)"/.exec(option)?.[1] ?? "", required: /required=True/.test(option) }));
  const given = words.slice(3).filter((word) => word.startsWith("--"));
  const unknown = given.filter((flag) => !options.some((o) => o.flag === flag));
  const missing = options.filter((o) => o.required && !given.includes(o.flag)).map((o) => o.flag);
  if (unknown.length > 0) out.problems.push(`mlflow ${group} ${command}: no option ${unknown.join(", ")} (mlflow/${source})`);
  if (missing.length > 0) out.problems.push(`mlflow ${group} ${command}: requires ${missing.join(", ")} (mlflow/${source})`);
  if (unknown.length === 0 && missing.length === 0) out.checked.push(`mlflow ${group} ${command} takes ${given.join(", ") || "no option"}`);
}

// ---------------------------------------------------------------------------------------

const CHECKERS: Record<string, Checker> = {
  npm: checkNpm,
  node: checkNode,
  python: checkPython,
  python3: checkPython,
  bash: checkBash,
  curl: checkCurl,
  databricks: checkDatabricks,
  mlflow: checkMlflow,
  openssl: checkOpenssl,
};

/** A list read from a source must not be empty, or every check against it would pass. */
function assertFound(items: readonly string[], what: string): void {
  if (items.length === 0) throw new Error(`found none of ${what}: the way this test reads them no longer fits`);
}

/** For the tests' own checks that the readers above still find something. */
export const forTesting = { argparseOptions, parseArgsOptions, programsOf, DATABRICKS_CLI };
