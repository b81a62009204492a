import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT as ROOT } from "../../support/gateway-process.js";

/** The README is the front page: beyond this it stops being read (issue 16 sets about 10 KB). */
const README_BUDGET_BYTES = 10 * 1024;

/** The project's own Markdown: the README, docs/ and the test guides (not node_modules or tools). */
function markdownFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  return ["README.md", "test/README.md", "test/emulator/README.md", ...docs].filter((file) => existsSync(path.join(ROOT, file)));
}

/** Relative link targets of a Markdown text, without their #fragment; code blocks and spans are not links. */
function relativeLinks(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? "")
    .filter((target) => !/^[a-z]+:/i.test(target) && !target.startsWith("#"))
    .map((target) => decodeURIComponent(target.split("#")[0] ?? ""));
}

describe("the documentation's links and the README's size", () => {
  it("finds the project's Markdown and its links (so the check below can fail)", () => {
    const files = markdownFiles();
    assert.ok(files.includes("docs/troubleshooting.md") && files.length >= 10, files.join(","));
    assert.deepEqual(relativeLinks("see [a](docs/a.md#x), [b](https://x.org) and `[c](no.md)`"), ["docs/a.md"]);
  });

  it("has no dead relative link", () => {
    const dead: string[] = [];
    for (const file of markdownFiles()) {
      for (const target of relativeLinks(readFileSync(path.join(ROOT, file), "utf8"))) {
        if (!existsSync(path.resolve(ROOT, path.dirname(file), target))) dead.push(`${file} -> ${target}`);
      }
    }
    assert.deepEqual(dead, []);
  });

  it(`keeps the README within ${README_BUDGET_BYTES} bytes`, () => {
    const size = statSync(path.join(ROOT, "README.md")).size;
    assert.ok(size <= README_BUDGET_BYTES, `README.md is ${size} bytes; move detail into docs/`);
  });
});
