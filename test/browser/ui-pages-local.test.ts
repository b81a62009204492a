/**
 * Every page of the MLflow UI in local mode (SQLite, local artifacts), in headless
 * Chromium through the gateway, on data the real MLflow client wrote through it
 * (test/python/ui_seed.py). The walk itself is in ui-walk.ts, shared with Databricks mode.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import { launchBrowser } from "../support/browser.js";
import { runPythonJson } from "../support/python.js";
import { type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";
import {
  PAGES,
  type PageResult,
  type Seed,
  type WalkTarget,
  documentedColumn,
  expectedCell,
  saveResults,
  openWalker,
  type Walker,
} from "./ui-walk.js";

describe("every page of the MLflow UI in local mode", () => {
  let gateway: SharedGateway;
  let browser: Browser;
  let context: BrowserContext;
  let target: WalkTarget;
  const results: PageResult[] = [];
  let walker: Walker | undefined;

  before(async () => {
    gateway = await useSharedGateway();
    const stamp = Date.now();
    const model = `forecast-model-${stamp}`;
    const prompt = `qa-prompt-${stamp}`;
    const seed = await runPythonJson<Seed>("ui_seed.py", [gateway.url, `forecasting-${stamp}`, model, prompt]);
    target = { mode: "local", url: gateway.url, seed, model, prompt };
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  });
  after(async () => {
    saveResults("local", results);
    await walker?.close();
    await context?.close();
    await browser?.close();
    await gateway?.release();
  });

  for (const spec of PAGES) {
    it(spec.title, async () => {
      walker ??= await openWalker(context, target);
      const result = await walker.walk(spec);
      results.push(result);
      assert.notEqual(result.status, "fails", `${spec.title}:\n${result.problems.join("\n")}`);
    });
  }

  it("docs/ui-pages.md states what this walk found (npm run ui:table rewrites it)", () => {
    const documented = documentedColumn("local");
    for (const result of results) assert.equal(documented.get(result.title), expectedCell(result), result.title);
  });
});
