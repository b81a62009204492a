import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { execa } from "execa";

const repoRoot = path.resolve(import.meta.dirname, "../../..");

describe("the committed route table", () => {
  it("is exactly what the installed MLflow registers (run `npm run routes:generate` after changing requirements.txt)", async () => {
    const python = path.join(repoRoot, ".venv/bin/python");
    const { stdout } = await execa(python, [path.join(repoRoot, "scripts/dump-mlflow-routes.py")], { env: { PYTHONWARNINGS: "ignore" } });
    const committed = readFileSync(path.join(repoRoot, "src/routes/mlflow-routes.json"), "utf8");
    assert.equal(stdout.trim(), committed.trim());
  });
});
