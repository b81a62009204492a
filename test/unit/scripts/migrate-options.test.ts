import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { execa } from "execa";
import { REPO_ROOT } from "../../support/gateway-process.js";
import { PYTHON } from "../../support/python.js";

// The migration tool refuses what it cannot do well before writing anything: bad options (all
// named at once) and two sources that would land on one target. Its copying is tested end to
// end in test/integration/migration.test.ts.

const scratch = mkdtempSync(path.join(tmpdir(), "migrate-options-"));
const source = `sqlite:///${path.join(scratch, "source.db")}`;
after(() => rmSync(scratch, { recursive: true, force: true }));

function migrate(args: string[]) {
  return execa(PYTHON, ["-m", "mlflow_migrate", ...args], {
    reject: false,
    env: { PYTHONPATH: path.join(REPO_ROOT, "scripts/migrate"), PYTHONWARNINGS: "ignore" },
  });
}

before(async () => {
  // Two registered models whose Unity Catalog names are the same once cleaned.
  const seed = [
    "import sys",
    "from mlflow import MlflowClient",
    "c = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[1])",
    "c.create_registered_model('Churn Model')",
    "c.create_registered_model('churn-model')",
  ].join("\n");
  await execa(PYTHON, ["-c", seed, source], { env: { PYTHONWARNINGS: "ignore" } });
});

describe("npm run migrate refuses before it writes", () => {
  it("names every bad option at once, with exit code 2", async () => {
    const result = await migrate(["copy", "--from", source, "--to", "http://127.0.0.1:9", "--catalog", "main", "--experiment-root", "Shared/x/"]);
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /--experiment-root 'Shared\/x\/' must be an absolute workspace folder without a trailing slash/);
    assert.match(result.stderr, /--catalog and --schema go together: give both, or neither\./);
  });

  it("refuses a mapping that is not SOURCE=TARGET", async () => {
    const result = await migrate(["verify", "--from", source, "--to", "http://127.0.0.1:9", "--model-map", "churn"]);
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /--model-map 'churn' is not SOURCE=TARGET\./);
  });

  it("refuses two sources that would be copied to one target, naming both and the way out", async () => {
    const result = await migrate(["copy", "--from", source, "--to", "http://127.0.0.1:9", "--catalog", "main", "--schema", "ml", "--dry-run"]);
    assert.equal(result.exitCode, 2, result.stdout);
    assert.match(
      result.stderr,
      /registered models 'Churn Model' and 'churn-model' would both be copied to 'main\.ml\.churn_model': give one of them its own target with --model-map SOURCE=TARGET\./,
    );
    // Nothing was planned against the target (which does not exist): the refusal came first.
    assert.doesNotMatch(result.stdout, /Would copy/);
  });

  it("plans once one of them has its own target", async () => {
    const result = await migrate([
      "copy",
      "--from",
      source,
      "--to",
      "http://127.0.0.1:9",
      "--catalog",
      "main",
      "--schema",
      "ml",
      "--model-map",
      "churn-model=main.ml.churn_v2",
      "--dry-run",
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /registered model 'Churn Model' -> 'main\.ml\.churn_model': 0 version\(s\)/);
    assert.match(result.stdout, /registered model 'churn-model' -> 'main\.ml\.churn_v2': 0 version\(s\)/);
  });
});
