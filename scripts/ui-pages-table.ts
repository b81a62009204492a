// Rewrites the table in docs/ui-pages.md from the UI walk's last results in both modes
// (test-output/ui-pages-local.json and ui-pages-databricks.json, written by
// test/browser/ui-pages-local.test.ts and databricks-ui.test.ts).
import { existsSync, readFileSync } from "node:fs";
import { type Mode, type PageResult, resultsFile, writeTable } from "../test/browser/ui-walk.js";

function load(mode: Mode): PageResult[] {
  const file = resultsFile(mode);
  if (!existsSync(file)) {
    console.error(`No results for ${mode} mode at ${file}: run the walk first (npm test, or its browser test file).`);
    process.exit(1);
  }
  return JSON.parse(readFileSync(file, "utf8")) as PageResult[];
}

writeTable({ local: load("local"), databricks: load("databricks") });
console.log("docs/ui-pages.md: table rewritten from both modes' results");
