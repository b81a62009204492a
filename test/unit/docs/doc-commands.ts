// Every command the docs tell a reader to type, and how the suite holds it to account: a file
// that runs it, or why nothing here can (its arguments are then checked by command-checks.ts).
// doc-commands.test.ts fails on a documented command without an entry here, and on an entry
// whose command no page has any more. A command is keyed by its text as the page has it,
// continuations joined and whitespace collapsed (the test's message prints it that way).

export interface RunHere {
  command: string;
  /** The file that runs it: a test or its support module, or what npm test runs itself (scripts/test.sh, scripts/setup.sh, .ci/run). */
  runBy: string;
  /**
   * Text of that file that finds, spells or runs this command. Each must be in the file; at
   * least one must be in the command, the comment above it or the script `npm run` runs.
   */
  marks: readonly string[];
  /** How the run differs from the page's line, when it does. */
  how?: string;
  agrees?: readonly Agreement[];
}

export interface NotRunHere {
  command: string;
  /** Why no test runs it. Its arguments are checked instead (command-checks.ts), or `agrees` says what must still match. */
  notRun: string;
  agrees?: readonly Agreement[];
}

/** A file that must still say `text`: the script that really runs a command the page names, say. */
export interface Agreement {
  file: string;
  text: string;
}

export type DocCommandEntry = RunHere | NotRunHere;

const NO_WORKSPACE = "no Databricks workspace is reachable here (and no test deploys an app)";
const SERVES_UNTIL_CTRL_C = "starts the gateway, which runs until Ctrl-C";
const PROSE = "the command named in prose; the page's full commands are run by test/unit/docs/audit-doc.test.ts";
const BENCH_TAKES_MINUTES =
  "the benchmark runs for minutes (full size about 10); scripts/test.sh runs --size smoke, and these options go through its own parser";

export const DOC_COMMANDS: readonly DocCommandEntry[] = [
  // ---- Running it locally, and the suite
  {
    command: "npm run local",
    runBy: "test/integration/first-run.test.ts",
    marks: ["npm run local"],
    how: "what it runs after set-up (scripts/dev.sh ends in `exec node dist/main.js`), under a real terminal; set-up is scripts/setup.sh, which npm test runs first",
    agrees: [{ file: "scripts/dev.sh", text: "exec node dist/main.js" }],
  },
  {
    command: "PORT=8001 npm run local",
    runBy: "test/integration/first-run.test.ts",
    marks: ["npm run local", "PORT"],
    how: "the gateway on a PORT of the test's choosing, and the taken-port message that names this command with the next port",
  },
  {
    command: "npm run --silent local | tee -i gateway.log",
    notRun: `${SERVES_UNTIL_CTRL_C}; first-run.test.ts checks its piped output is JSON lines`,
  },
  { command: "npm test", runBy: ".ci/run", marks: ["npm test"], how: "CI's only step: it is the whole suite" },
  { command: "bash .ci/run", notRun: "it is the whole suite (CI's only step, npm test)", agrees: [{ file: ".ci/run", text: "npm test" }] },
  { command: "npm run setup", runBy: "scripts/test.sh", marks: ["bash scripts/setup.sh"] },
  { command: "npm run build", runBy: "scripts/setup.sh", marks: ["npm run build"], how: "set-up's last step, run by npm test" },
  {
    command: "npm start",
    runBy: "test/support/gateway-process.ts",
    marks: ["dist/main.js"],
    how: "every integration test starts the built gateway as npm start does (node dist/main.js)",
  },
  {
    command: "npm install",
    notRun:
      "npm's own install, by the reader (audit.md, examples/README.md) or by Databricks Apps at deploy (deploy.md); set-up installs the same lock file with npm ci",
    agrees: [{ file: "scripts/setup.sh", text: "npm ci --no-audit --no-fund" }],
  },
  {
    command: "pip install -r requirements.txt",
    notRun: "what Databricks Apps runs at deploy; set-up installs the same file into .venv",
    agrees: [
      { file: "scripts/setup.sh", text: "py_install -r requirements.txt" },
      { file: "app.yaml", text: "`pip install -r" },
    ],
  },
  {
    command: "apt-get install chromium",
    notRun: "installs a system package as root; set-up runs it (or prints it) when Chromium is missing",
    agrees: [{ file: "scripts/setup.sh", text: "apt-get install chromium" }],
  },
  {
    command: "apt-get install jq",
    notRun: "installs a system package as root; set-up runs it (or prints it) when jq is missing",
    agrees: [{ file: "scripts/setup.sh", text: "apt-get install jq" }],
  },
  { command: "brew install jq", notRun: "macOS's package manager", agrees: [{ file: "scripts/setup.sh", text: "brew install jq" }] },
  {
    command: "npm run routes:generate",
    runBy: "test/unit/routes/route-table-drift.test.ts",
    marks: ["npm run routes:generate", "scripts/dump-mlflow-routes.py"],
    how: "runs the dump the script writes to src/routes/mlflow-routes.json, and compares instead of writing",
    agrees: [{ file: "scripts/generate-routes.sh", text: "scripts/dump-mlflow-routes.py > src/routes/mlflow-routes.json" }],
  },
  {
    command: "npm run ui:table",
    notRun: "rewrites docs/ui-pages.md from the results of a browser walk, which only the browser tests produce",
    agrees: [{ file: "test/browser/ui-walk.ts", text: "npm run ui:table" }],
  },
  { command: "npm run supply-chain", runBy: "scripts/test.sh", marks: ["npm run supply-chain"] },
  {
    command: "npm audit --omit=dev",
    notRun: "names what npm run supply-chain runs",
    agrees: [{ file: "scripts/supply-chain/report.ts", text: '["audit", "--omit=dev", "--json"]' }],
  },
  {
    command: "npm audit --json",
    notRun: "names what npm run supply-chain runs",
    agrees: [{ file: "scripts/supply-chain/report.ts", text: '["audit", "--omit=dev", "--json"]' }],
  },
  {
    command: "pip-audit --local",
    notRun: "names what npm run supply-chain runs",
    agrees: [{ file: "scripts/supply-chain/report.ts", text: '"pip_audit", "--local"' }],
  },
  { command: "npx node@22", notRun: "names how the suite gets Node 22", agrees: [{ file: "scripts/test.sh", text: "npx --yes node@22" }] },

  // ---- The benchmark
  { command: "npm run bench", notRun: BENCH_TAKES_MINUTES },
  { command: "npm run bench -- --size smoke", runBy: "scripts/test.sh", marks: ["npm run bench -- --size smoke"] },
  { command: "npm run bench -- --size smoke --only reads", notRun: BENCH_TAKES_MINUTES },
  { command: "npm run bench -- --size full", notRun: BENCH_TAKES_MINUTES },
  { command: "npm run bench -- --only fast-route,cold-start", notRun: BENCH_TAKES_MINUTES },
  { command: "npm run bench -- --only fast-route --profile", notRun: BENCH_TAKES_MINUTES },
  { command: "npm run bench -- --gateway-entry /path/to/other/dist/main.js", notRun: BENCH_TAKES_MINUTES },
  { command: "npm run bench -- --size smoke --only artifacts --artifact-mib 1024 --profile", notRun: BENCH_TAKES_MINUTES },
  {
    command: "node --cpu-prof",
    notRun: "names what npm run bench -- --profile runs",
    agrees: [{ file: "scripts/bench/run-bench.ts", text: '["--cpu-prof", "--cpu-prof-dir", profileDir]' }],
  },
  {
    command: "apt-get install nginx wrk curl util-linux",
    notRun: "installs system packages as root; the benchmark runs it (or prints it) when they are missing",
    agrees: [
      { file: "scripts/bench/ensure-tools.ts", text: 'pkg: "nginx"' },
      { file: "scripts/bench/ensure-tools.ts", text: 'pkg: "wrk"' },
      { file: "scripts/bench/ensure-tools.ts", text: 'pkg: "curl"' },
      { file: "scripts/bench/ensure-tools.ts", text: 'pkg: "util-linux"' },
    ],
  },

  // ---- The audit command (docs/audit.md)
  { command: "npm run audit", notRun: PROSE },
  { command: "npm run audit -- verify", notRun: PROSE },
  { command: "npm run audit -- search", notRun: PROSE },
  { command: "npm run audit -- verify <where>", notRun: PROSE },
  { command: "npm run audit -- search <where> --person ... --action ...", notRun: PROSE },
  {
    command: 'GATEWAY_AUDIT_HMAC_KEY="$(cat .data/audit/hmac.key)" npm run audit -- verify .data/audit',
    runBy: "test/unit/docs/audit-doc.test.ts",
    marks: ["The local files of a development machine"],
    how: "operations-doc.test.ts runs it too, across a key rotation",
  },
  {
    command: "npm run audit -- verify /Volumes/main/mlflow/audit",
    runBy: "test/unit/docs/audit-doc.test.ts",
    marks: ["The volume, read through the Databricks Files API"],
    how: "on a local copy of the volume's files",
  },
  {
    command: "npm run audit -- verify /Volumes/main/mlflow/audit --key-env AUDIT_KEY",
    runBy: "test/unit/docs/audit-doc.test.ts",
    marks: ["Another variable holds the key"],
    how: "on a local copy of the volume's files",
  },
  {
    command: "npm run audit -- verify /Volumes/main/mlflow/audit --key-env GATEWAY_AUDIT_HMAC_KEY --key-env AUDIT_KEY_RETIRED",
    runBy: "test/unit/docs/audit-doc.test.ts",
    marks: ["After a key rotation: the current key and the retired one"],
    how: "on a local copy of the volume's files (operations-doc.test.ts runs operations.md's copy the same way)",
  },
  {
    command: "npm run --silent audit -- search /Volumes/main/mlflow/audit --action DeleteRun --outcome allow --since 7d",
    runBy: "test/unit/docs/audit-doc.test.ts",
    marks: ["Who deleted runs in the last 7 days"],
    how: "on a local copy of the volume's files",
  },
  {
    command: "npm run --silent audit -- search /Volumes/main/mlflow/audit --person y@example.com --outcome deny",
    runBy: "test/unit/docs/audit-doc.test.ts",
    marks: ["Every call by one person that the gateway refused"],
    how: "on a local copy of the volume's files",
  },
  {
    command: "npm run --silent audit -- search /Volumes/main/mlflow/audit --object model_name=main.ml.churn --format json > churn.jsonl",
    runBy: "test/unit/docs/audit-doc.test.ts",
    marks: ["Everything that happened to a model"],
    how: "on a local copy of the volume's files",
  },
  {
    command: "mlflow runs list --experiment-id X --view all",
    notRun: "needs the MLflow server of the experiment in question",
  },
  {
    command: "mlflow artifacts list --run-id <run id>",
    notRun: "needs the MLflow server of the run in question",
  },

  // ---- Operations (docs/operations.md; test/unit/docs/operations-doc.test.ts runs them)
  {
    command: "umask 077 && openssl rand -hex 32 > audit-hmac-key.new",
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["A new key, in a file only you can read"],
  },
  {
    command: 'export GATEWAY_AUDIT_HMAC_KEY="$(cat audit-hmac-key.new)"',
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["export GATEWAY_AUDIT_HMAC_KEY="],
  },
  {
    command: "mv .data/audit/hmac.key .data/audit/hmac.key.retired-2026-12-01",
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["retire the key file"],
  },
  {
    command:
      'GATEWAY_AUDIT_HMAC_KEY="$(cat .data/audit/hmac.key)" AUDIT_KEY_RETIRED="$(cat .data/audit/hmac.key.retired-2026-12-01)" npm run audit -- verify .data/audit --key-env GATEWAY_AUDIT_HMAC_KEY --key-env AUDIT_KEY_RETIRED',
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: [".data/audit --key-env GATEWAY_AUDIT_HMAC_KEY --key-env AUDIT_KEY_RETIRED"],
  },
  {
    command: "curl -s -o /dev/null -w '%{http_code}\\n' http://localhost:8000/-/ready",
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["200 or 503"],
    how: "against the request pipeline in-process, on a port of its own",
  },
  {
    command: "curl -s http://localhost:8000/-/ready | jq '.checks | with_entries(select(.value.ok | not))'",
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["checks that fail"],
    how: "against the request pipeline in-process, on a port of its own",
  },
  {
    command: "curl -s http://localhost:8000/-/ready | jq '.mlflow'",
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["The child:"],
    how: "against the request pipeline in-process, on a port of its own",
  },
  {
    command:
      "curl -s http://localhost:8000/-/metrics | grep -E '^mlflow_gateway_(child_up|child_crash_loop|child_restarts_total|audit_durable|audit_queue_events) '",
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["worth alerting on"],
    how: "against the request pipeline in-process, on a port of its own",
  },
  {
    command: `jq -cR 'fromjson? | select(.source == "access" and .status >= 500 and .time >= (now - 3600 | todate))' gateway.log`,
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["5xx answers in the last hour"],
  },
  {
    command: `jq -cR --arg id "$ID" 'fromjson? | select(.requestId == $id or .request_id == $id)' gateway.log`,
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["select(.requestId == $id"],
  },
  {
    command: `jq -rR --argjson ms 2000 'fromjson? | select(.source == "access" and .durationMs > $ms) | [.time, .durationMs, .status, .method, .path, .requestId] | @tsv' gateway.log`,
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["slower than 2000 ms"],
  },
  {
    command: `jq -rR 'fromjson? | select(.source == "access" and .error != null) | .error' gateway.log | sort | uniq -c | sort -rn`,
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["by code"],
  },
  {
    command: `jq -cR 'fromjson? | select(.source == "gateway" and (.message | test("^audit trail (cannot record|is recording) durably|^mlflow server (stopped|is in a crash loop)")))' gateway.log`,
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["What the alerts watch for"],
  },
  {
    command: `npm run --silent audit -- search .data/audit --format json | jq -c --arg id "$ID" 'select(.request_id == $id)'`,
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["search .data/audit"],
  },
  {
    command: `npm run --silent audit -- search /Volumes/main/mlflow/audit --format json | jq -c --arg id "$ID" 'select(.request_id == $id)'`,
    runBy: "test/unit/docs/operations-doc.test.ts",
    marks: ["search /Volumes/"],
    how: "as its local twin: the test checks it is the same command on the prod target's volume",
  },
  {
    command: "databricks apps logs mlflow-gateway --tail-lines 5000 --source APP | sed -E 's/^[^ ]+ \\[[A-Za-z]+\\] //' > gateway.log",
    notRun: `${NO_WORKSPACE}; operations-doc.test.ts runs the sed part on lines printed as the CLI prints them`,
  },
  { command: "databricks apps logs", notRun: NO_WORKSPACE },

  // ---- Deploying (README.md, docs/deploy.md, docs/operations.md), checked against the bundle
  { command: "databricks auth login", notRun: NO_WORKSPACE },
  { command: "databricks auth token", notRun: NO_WORKSPACE },
  { command: "databricks auth login --host https://<workspace>", notRun: NO_WORKSPACE },
  { command: "databricks bundle deploy -t dev", notRun: NO_WORKSPACE },
  { command: "databricks bundle deploy -t prod", notRun: NO_WORKSPACE },
  { command: "databricks bundle run mlflow_gateway -t dev", notRun: NO_WORKSPACE },
  { command: "databricks bundle run mlflow_gateway -t prod", notRun: NO_WORKSPACE },
  {
    command: "umask 077 && openssl rand -hex 32 > audit-hmac-key",
    runBy: "test/unit/docs/doc-commands.test.ts",
    marks: ["openssl rand -hex", "umask 077"],
    how: "in a scratch folder: the file holds a key the gateway accepts, and only its owner can read it",
  },
  { command: 'databricks secrets put-secret mlflow-gateway-dev audit-hmac-key --string-value "$(cat audit-hmac-key)"', notRun: NO_WORKSPACE },
  { command: 'databricks secrets put-secret mlflow-gateway audit-hmac-key --string-value "$(cat audit-hmac-key)"', notRun: NO_WORKSPACE },
  { command: 'databricks secrets put-secret mlflow-gateway audit-hmac-key --string-value "$(cat audit-hmac-key.new)"', notRun: NO_WORKSPACE },
  { command: "databricks secrets create-scope mlflow-gateway", notRun: NO_WORKSPACE },
  { command: "databricks volumes create main mlflow audit MANAGED", notRun: NO_WORKSPACE },
  { command: "databricks apps create mlflow-gateway", notRun: NO_WORKSPACE },
  { command: "databricks apps get <app name>", notRun: NO_WORKSPACE },
  { command: "databricks sync . /Workspace/Users/<you>/mlflow-gateway", notRun: NO_WORKSPACE },
  { command: "databricks apps deploy mlflow-gateway --source-code-path /Workspace/Users/<you>/mlflow-gateway", notRun: NO_WORKSPACE },

  // ---- Calling the app from outside (README.md, docs/artifacts.md, examples/README.md)
  {
    command: "export MLFLOW_TRACKING_TOKEN=$(databricks auth token --host https://<workspace> | jq -r .access_token)",
    notRun: `${NO_WORKSPACE}; doc-commands.test.ts runs the line with a stand-in databricks that checks its arguments and prints what the CLI prints`,
  },
  {
    command: "export MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE=$((64 * 1024 * 1024))",
    runBy: "test/unit/docs/doc-commands.test.ts",
    marks: ["MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE"],
    how: "works out its value; the setup check finds the variable in the installed MLflow",
  },

  // ---- Migrating (docs/migration.md; test/integration/migration.test.ts runs the tool through the front door)
  {
    command: "npm run migrate",
    runBy: "test/integration/migration.test.ts",
    marks: ["migrate"],
    how: "named in prose; the test runs it as npm run --silent migrate -- copy|verify ...",
  },
  {
    command:
      "npm run migrate -- copy --from https://mlflow.internal:5000 --to https://<app>-<workspace-id>.<region>.databricksapps.com --catalog main --schema ml --dry-run",
    runBy: "test/integration/migration.test.ts",
    marks: ["copy", "--dry-run", "--catalog"],
    how: "from a seeded source server behind a recording proxy to the app in Databricks mode, with the schema the workspace emulator grants",
  },
  {
    command:
      "npm run migrate -- copy --from https://mlflow.internal:5000 --to https://<app>-<workspace-id>.<region>.databricksapps.com --catalog main --schema ml",
    runBy: "test/integration/migration.test.ts",
    marks: ["copy", "--catalog", "--schema"],
    how: "cut off by a workspace outage after 12 runs, run again to finish, and run a third time to copy nothing",
  },
  {
    command:
      "npm run migrate -- copy --from https://mlflow.internal:5000 --to https://<app>-<workspace-id>.<region>.databricksapps.com --catalog main --schema ml --sync",
    runBy: "test/integration/migration.test.ts",
    marks: ["copy", "--sync"],
    how: "after a new run and a new metric point at the source",
  },
  {
    command:
      "npm run migrate -- verify --from https://mlflow.internal:5000 --to https://<app>-<workspace-id>.<region>.databricksapps.com --catalog main --schema ml --hashes",
    runBy: "test/integration/migration.test.ts",
    marks: ["verify", "--hashes"],
  },
  {
    command: "export MIGRATE_TARGET_TOKEN=$(databricks auth token --host https://<workspace> | jq -r .access_token)",
    notRun: `${NO_WORKSPACE}; doc-commands.test.ts runs the line with a stand-in databricks that checks its arguments and prints what the CLI prints, and migration.test.ts gives the tool a user's token in this variable`,
  },
  { command: "databricks workspace mkdirs /Shared/migrated", notRun: NO_WORKSPACE },
  {
    command: ".venv/bin/pip install psycopg2-binary",
    notRun: "installs from PyPI, for a PostgreSQL source only; the test's source is SQLite behind a real mlflow server",
  },

  // ---- The examples (examples/README.md; test/integration/examples.test.ts runs them)
  {
    command: ".venv/bin/python examples/...",
    notRun: "a pattern: the commands below it are its instances",
    agrees: [{ file: "test/support/python.ts", text: '".venv/bin/python"' }],
  },
  {
    command: ".venv/bin/python examples/train_and_log.py wine-classifier",
    runBy: "test/integration/examples.test.ts",
    marks: ["train_and_log.py"],
    how: "with an experiment name of its own, locally and through the front door with a user's token",
  },
  {
    command: ".venv/bin/python examples/promote_if_better.py main.team.wine_classifier m-...",
    runBy: "test/integration/examples.test.ts",
    marks: ["promote_if_better.py", "models:/"],
    how: "through the front door with a user's token, a Unity Catalog model of its own, the run id and then the model id",
  },
  {
    command: "python examples/train_and_log.py wine-classifier --C 0.1",
    runBy: "test/integration/examples.test.ts",
    marks: ["train_and_log.py", "--C"],
    how: "with --C 0.003 and an experiment name of its own, locally and through the front door with a user's token",
  },
  {
    command: "python examples/promote_if_better.py main.ml.wine_classifier m-5b1e...",
    runBy: "test/integration/examples.test.ts",
    marks: ["promote_if_better.py", "models:/"],
    how: "through the front door with a user's token, a Unity Catalog model of its own, the run id and then the model id",
  },
  {
    command: ".venv/bin/python examples/promote_if_better.py wine-classifier m-5b1e...",
    runBy: "test/integration/examples.test.ts",
    marks: ["promote_if_better.py"],
    how: "against a local gateway, with a model name of its own",
  },
  {
    command: "python examples/promote_if_better.py <model name> <candidate> [--metric accuracy] [--alias champion] [--lower-is-better]",
    notRun: "the synopsis; examples.test.ts runs the gate with the defaults it shows",
  },
  {
    command: "examples/review_audit.sh .data/audit local-developer",
    runBy: "test/integration/examples.test.ts",
    marks: ["review_audit.sh", "local-developer"],
    how: "on the local gateway's audit folder",
  },
  {
    command: "examples/review_audit.sh /Volumes/main/mlflow/audit alice@example.com",
    runBy: "test/integration/examples.test.ts",
    marks: ["review_audit.sh", "GATEWAY_AUDIT_HMAC_KEY: TEST_AUDIT_KEY"],
    how: 'on the Databricks-mode gateway\'s trail, read from its files rather than a volume, for "alice", with the key in the environment as the page sets it',
  },

  // ---- The test guides
  {
    command: "npm run emulator",
    notRun: "starts a workspace emulator (and its mlflow server) that runs until Ctrl-C; test/emulator-tests exercise it",
    agrees: [{ file: "package.json", text: '"emulator": "node --import tsx test/emulator/cli.ts"' }],
  },
  {
    command:
      "node --import tsx test/emulator/cli.ts [--port 8080] [--user admin@example.com --user alice@example.com ...] [--workspace-id N] [--uc-artifacts sdk] [--verbose-mlflow]",
    notRun: "the synopsis of npm run emulator, which runs until Ctrl-C",
  },
  {
    command: "node --import tsx --test --test-concurrency=1 test/emulator-tests/*.test.ts",
    runBy: "scripts/test.sh",
    marks: ["test/emulator-tests/*.test.ts"],
    how: "two files at a time",
  },
];
