// Every command the README, docs/, examples/README.md and the test guides tell a reader to type
// is run by a test, or has a reason why it cannot be and its arguments checked against what
// the repository has (doc-commands.ts is the list, command-checks.ts the checks). A command
// a page gains without an entry, or an entry whose command no page has any more, fails here.
//
// What counts as a command (test/support/doc-commands.ts): each line of an sh, bash, shell or
// console block (continuations joined, `$ ` and comments dropped; `NAME=value` settings are
// set-up, unless a value runs something), and inline code in the prose that starts with a
// program a reader runs. Blocks without a language are diagrams and file layouts; one whose
// first line is a command fails here until it says `sh`. Other languages (sql, python, yaml,
// ts) are not shell commands and are not held to account here.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { MIN_HMAC_KEY_LENGTH } from "../../../src/config/audit-config.js";
import { gatewayVariables } from "../../support/gateway-variables.js";
import { REPO_ROOT } from "../../support/gateway-process.js";
import { codeBlocks, type DocCommand, readDocCommands, setupNames, simpleCommands, withoutComment } from "../../support/doc-commands.js";
import { checkArguments, type CheckResult, expandScript, forTesting, mlflowPackageDir } from "./command-checks.js";
import { type Agreement, DOC_COMMANDS, type DocCommandEntry, type NotRunHere, type RunHere } from "./doc-commands.js";

const REGISTRY = "test/unit/docs/doc-commands.ts";
const docs = readDocCommands();
const where = (c: DocCommand): string => `${c.file}:${c.line}`;

/** Each documented command once, with every place it appears. */
const byText = new Map<string, DocCommand[]>();
for (const c of docs.commands) byText.set(c.text, [...(byText.get(c.text) ?? []), c]);

const entryOf = new Map(DOC_COMMANDS.map((entry) => [entry.command, entry]));
const isRun = (entry: DocCommandEntry): entry is RunHere => "runBy" in entry;
const allTexts = [...byText.keys()];

function check(entry: DocCommandEntry): CheckResult {
  return checkArguments(entry.command, { all: allTexts });
}

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), "utf8");
/** A file's text as marks are looked up in it: also with regex escapes dropped, and without npm's --silent. */
const searchable = (text: string): string[] => [text, text.replace(/\\/g, "")].map((t) => t.replace(/ --silent /g, " "));

function agreementProblems(agrees: readonly Agreement[] = []): string[] {
  return agrees.flatMap(({ file, text }) =>
    !existsSync(path.join(REPO_ROOT, file))
      ? [`${file} does not exist`]
      : read(file).includes(text)
        ? []
        : `${file} no longer says ${JSON.stringify(text)}`,
  );
}

describe("reading the docs' commands", () => {
  it("joins continuations, drops prompts, comments and output, and sets variable settings aside", () => {
    const page = [
      "```console",
      "$ npm run audit -- verify \\",
      "    .data/audit   # the local trail",
      "OK: 3 records",
      "```",
      "```sh",
      "# a comment",
      "export A=1 B=two",
      "export C=$(databricks auth token | jq -r .access_token)",
      "ID=abc",
      "curl -s 'http://x/#not-a-comment' # a comment",
      "```",
      "Run `npm run bench -- --size smoke`, not `npm` or `mlflow server`.",
    ];
    const blocks = codeBlocks("page.md", page);
    assert.deepEqual(
      blocks.map((b) => [b.line, b.lang]),
      [
        [1, "console"],
        [6, "sh"],
      ],
    );
    assert.equal(withoutComment("curl -s 'http://x/#not-a-comment' # a comment"), "curl -s 'http://x/#not-a-comment'");
    assert.deepEqual(setupNames("export A=1 B=two"), ["A", "B"]);
    assert.equal(setupNames("export C=$(databricks auth token)"), undefined, "a value that runs something makes it a command");
    assert.deepEqual(simpleCommands(`K="$(cat k)" npm run audit -- verify x 2>&1 | jq -r '.a | .b' > out && echo done`), [
      ["npm", "run", "audit", "--", "verify", "x"],
      ["jq", "-r", ".a | .b"],
      ["echo", "done"],
    ]);
    assert.deepEqual(
      forTesting.programsOf('databricks secrets put-secret s k --string-value "$(openssl rand -hex 32)"').map((w) => w[0]),
      ["databricks", "openssl"],
    );
  });

  it("finds the commands of every page, the README's first (so the checks below can fail)", () => {
    assert.deepEqual(
      docs.commands.slice(0, 2).map((c) => [where(c), c.text]),
      [
        ["README.md:19", "npm run local"],
        ["README.md:20", "npm test"],
      ],
    );
    const pages = new Set(docs.commands.map((c) => c.file));
    for (const page of ["README.md", "docs/audit.md", "docs/deploy.md", "docs/operations.md", "examples/README.md", "test/emulator/README.md"])
      assert.ok(pages.has(page), `commands found in ${page}`);
    assert.ok(byText.size >= 90, `${byText.size} distinct commands`);
    assert.ok(docs.setup.some((s) => s.names.includes("MLFLOW_TRACKING_URI")));
  });

  it("has no block without a language whose first line is a command", () => {
    assert.deepEqual(
      docs.unmarkedCommandBlocks.map((b) => `${b.file}:${b.line}: a command block without a language; mark it \`\`\`sh`),
      [],
    );
  });
});

describe("every documented command is run by a test or says why not", () => {
  it("has an entry for each command", (t) => {
    const missing = [...byText].filter(([text]) => !entryOf.has(text));
    assert.deepEqual(
      missing.map(([text, places]) => `${places.map(where).join(", ")}: \`${text}\``),
      [],
      `documented commands without an entry in ${REGISTRY}: add { command, runBy, marks } naming the test that runs it, ` +
        `or { command, notRun: "why" } when nothing here can (its arguments are then checked)`,
    );
    const run = DOC_COMMANDS.filter(isRun).length;
    t.diagnostic(
      `${byText.size} distinct commands (${docs.commands.length} places): ${run} run by a test, ${DOC_COMMANDS.length - run} not run, arguments checked`,
    );
    const perPage = new Map<string, number>();
    for (const c of docs.commands) perPage.set(c.file, (perPage.get(c.file) ?? 0) + 1);
    t.diagnostic([...perPage].map(([file, n]) => `${file}: ${n}`).join(", "));
  });

  it("has no entry for a command no page has any more, and none twice", () => {
    assert.deepEqual(
      DOC_COMMANDS.filter((entry) => !byText.has(entry.command)).map((entry) => `\`${entry.command}\``),
      [],
      `entries in ${REGISTRY} whose command no page has any more: remove them, or correct them to the page's new text`,
    );
    const seen = new Set<string>();
    assert.deepEqual(
      DOC_COMMANDS.filter((entry) => seen.has(entry.command) || !seen.add(entry.command)).map((entry) => entry.command),
      [],
      "entries listed twice",
    );
  });

  it("names, for each command it runs, a file whose source still holds the command", () => {
    const problems: string[] = [];
    for (const entry of DOC_COMMANDS.filter(isRun)) {
      const places = byText.get(entry.command) ?? [];
      if (!existsSync(path.join(REPO_ROOT, entry.runBy))) {
        problems.push(`\`${entry.command}\`: ${entry.runBy} does not exist`);
        continue;
      }
      const source = searchable(read(entry.runBy));
      for (const mark of entry.marks)
        if (!source.some((text) => text.includes(mark))) problems.push(`\`${entry.command}\`: ${entry.runBy} no longer has "${mark}"`);
      const ownText = [entry.command, expandScript(entry.command), ...places.map((p) => p.comment)].flatMap(searchable);
      if (!entry.marks.some((mark) => ownText.some((text) => text.includes(mark))))
        problems.push(`\`${entry.command}\`: none of its marks (${entry.marks.join(" | ")}) is in the command, its comment or its script`);
      problems.push(...agreementProblems(entry.agrees).map((p) => `\`${entry.command}\`: ${p}`));
    }
    assert.deepEqual(problems, []);
  });

  it("checks the arguments of each command it does not run, and gives the reason", () => {
    const problems: string[] = [];
    for (const entry of DOC_COMMANDS.filter((e): e is NotRunHere => !isRun(e))) {
      const places = (byText.get(entry.command) ?? []).map(where).join(", ");
      const { checked, problems: found } = check(entry);
      const disagreements = agreementProblems(entry.agrees);
      problems.push(...[...found, ...disagreements].map((p) => `${places}: \`${entry.command}\`: ${p}`));
      if (entry.notRun.trim().length < 10) problems.push(`${places}: \`${entry.command}\`: say why it is not run`);
      if (checked.length === 0 && (entry.agrees ?? []).length === 0)
        problems.push(`${places}: \`${entry.command}\`: nothing checks it; give it an \`agrees\`, or a check in command-checks.ts`);
    }
    assert.deepEqual(problems, []);
  });

  it("checks the arguments of the commands it runs too", () => {
    const problems = DOC_COMMANDS.filter(isRun).flatMap((entry) =>
      check(entry).problems.map((p) => `${(byText.get(entry.command) ?? []).map(where).join(", ")}: \`${entry.command}\`: ${p}`),
    );
    assert.deepEqual(problems, []);
  });

  it("the argument checks catch a wrong flag, script, path, target and name (so they can fail)", () => {
    const problems = (text: string): string[] => checkArguments(text, { all: [] }).problems;
    assert.match(problems("npm run no-such-script").join(), /package\.json has no script "no-such-script"/);
    assert.match(problems("npm run audit -- verify x --key X").join(), /Unknown option '--key'/);
    assert.match(problems("npm run audit -- search x --since yesterday").join(), /--since/);
    assert.match(problems("npm run bench -- --size huge").join(), /--size must be smoke or full/);
    assert.match(problems("npm run migrate -- copy --from a --to b --dryrun").join(), /--dryrun: .* has no such option/);
    assert.match(problems("npm run migrate -- copy --to b").join(), /requires --from/);
    assert.match(problems("curl -s http://localhost:8000/-/healthz").join(), /\/-\/healthz is none of the gateway's own paths/);
    assert.match(problems("databricks bundle deploy -t staging").join(), /-t staging of no bundle target/);
    assert.match(
      problems("databricks secrets put-secret mlflow-gateway hmac --string-value x").join(),
      /app\.yaml's GATEWAY_AUDIT_HMAC_KEY reads "audit-hmac-key"/,
    );
    assert.match(problems("databricks apps logs mlflow-gateway --lines 10").join(), /--lines: no such option/);
    assert.match(problems("databricks volumes create main mlflow audit").join(), /takes 4 arguments/);
    assert.match(problems("node --import tsx test/emulator/cli.ts --users a").join(), /--users: test\/emulator\/cli\.ts takes/);
    assert.match(problems("python examples/promote_if_better.py m c --metrics loss").join(), /--metrics: .* has no such option/);
    assert.match(problems("examples/review_audit.sh .data/audit").join(), /takes 2 arguments, the doc gives 1/);
    assert.match(problems("mlflow artifacts list").join(), /requires --run-id/);
    const { argparseOptions } = forTesting;
    assert.deepEqual(argparseOptions("scripts/migrate/mlflow_migrate/__main__.py").choices, ["copy", "verify"]);
  });
});

describe("the commands that can run here in part", () => {
  /** What a reader puts for <workspace>. */
  const WORKSPACE = "example.cloud.databricks.com";
  const scratch = mkdtempSync(path.join(tmpdir(), "doc-commands-"));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  /** What `databricks auth token` prints (databricks/cli cmd/auth/token.go: the oauth2.Token, as indented JSON). */
  const TOKEN_JSON = JSON.stringify({ access_token: "dapi-doc-test-token", token_type: "Bearer", expiry: "2026-12-01T10:00:00Z" }, null, 2);

  it("the token exports, with a stand-in databricks CLI: the variable holds the access token", () => {
    const exports = allTexts.filter((text) => /^export \w+=\$\(databricks auth token /.test(text));
    assert.ok(exports.length >= 2, exports.join("\n"));
    for (const text of exports) {
      const name = /^export (\w+)=/.exec(text)?.[1] ?? "";
      // The stand-in refuses any other arguments, so a changed command fails here rather than printing a token.
      const stub = `databricks() { [ "$*" = "auth token --host https://${WORKSPACE}" ] || { echo "unexpected: $*" >&2; return 2; }; printf '%s' '${TOKEN_JSON}'; }`;
      const line = text.replaceAll("<workspace>", WORKSPACE);
      const value = execFileSync("bash", ["-c", `set -eo pipefail; ${stub}; ${line}; printf '%s' "$${name}"`], { encoding: "utf8" });
      assert.equal(value, "dapi-doc-test-token", text);
    }
  });

  it("the key-file commands, in a scratch folder: a key the gateway accepts, readable only by its owner where the page says umask 077", () => {
    const commands = allTexts.filter((text) => /openssl rand -hex \d+ > \S+$/.test(text));
    assert.ok(commands.length >= 2, commands.join("\n"));
    for (const text of commands) {
      const cwd = mkdtempSync(path.join(scratch, "key-"));
      execFileSync("bash", ["-c", text], { cwd });
      const file = path.join(cwd, /> (\S+)$/.exec(text)?.[1] ?? "");
      assert.match(readFileSync(file, "utf8"), /^[0-9a-f]{64}\n$/, text);
      assert.ok(readFileSync(file, "utf8").trim().length >= MIN_HMAC_KEY_LENGTH, text);
      if (text.startsWith("umask 077 && ")) assert.equal(statSync(file).mode & 0o777, 0o600, `${text}: only its owner can read it`);
    }
  });

  it("the multipart chunk size works out to 64 MiB, in a variable the installed MLflow reads", () => {
    const text = allTexts.find((t) => t.startsWith("export MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE="));
    assert.ok(text);
    assert.equal(
      execFileSync("bash", ["-c", `${text}; printf %s "$MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE"`], { encoding: "utf8" }),
      String(64 * 1024 * 1024),
    );
  });

  it("every variable a page sets is read by the gateway, MLflow, the migration tool or a later command of the page", () => {
    const mlflow = readFileSync(path.join(mlflowPackageDir(), "environment_variables.py"), "utf8");
    const migrate = ["__main__.py", "credentials.py"].map((file) => read(`scripts/migrate/mlflow_migrate/${file}`)).join("\n");
    // The migration tool reads a prefix per side plus a suffix per credential ("MIGRATE_SOURCE" and f"{prefix}_TOKEN").
    const migrateReads = (name: string): boolean =>
      migrate.includes(`"${name}"`) ||
      [...migrate.matchAll(/\{prefix\}(_[A-Z]+)/g)].some(
        ([, suffix = ""]) => name.endsWith(suffix) && migrate.includes(`"${name.slice(0, -suffix.length)}"`),
      );
    const gateway = gatewayVariables();
    const computed = docs.commands.flatMap((c) =>
      [...c.text.matchAll(/^export (\w+)=/g)].map((m) => ({ file: c.file, line: c.line, names: [m[1] ?? ""] })),
    );
    const unread: string[] = [];
    for (const setting of [...docs.setup, ...computed]) {
      const later = docs.commands.filter((c) => c.file === setting.file && c.line > setting.line).map((c) => c.text);
      for (const name of setting.names) {
        const read = gateway.has(name) || mlflow.includes(`"${name}"`) || migrateReads(name) || later.some((text) => text.includes(name));
        if (!read) unread.push(`${setting.file}:${setting.line}: ${name}`);
      }
    }
    assert.deepEqual(unread, [], "variables nothing reads (a misspelt name?)");
  });
});
