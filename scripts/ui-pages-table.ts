// Rewrites the table in docs/ui-pages.md from the UI walk's last results in both modes
// (test-output/ui-pages-local.json and ui-pages-databricks.json, written by
// test/browser/ui-pages-local.test.ts and databricks-ui.test.ts).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as prettier from "prettier";
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
// The repository's formatting check covers docs/: align the table as Prettier does.
const file = "docs/ui-pages.md";
const options = (await prettier.resolveConfig(file)) ?? {};
writeFileSync(file, await prettier.format(readFileSync(file, "utf8"), { ...options, filepath: file }));
console.log("docs/ui-pages.md: table rewritten from both modes' results");
