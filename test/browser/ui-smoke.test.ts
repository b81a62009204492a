import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, screenshotPath } from "../support/browser.js";
import { type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";

/**
 * Calls the UI makes that are refused on purpose: the assistant (never forwarded, see
 * src/guards/classify-route.ts) and the basic-auth app's current-user probe, which
 * stock MLflow without that app answers with 404 as well.
 */
const EXPECTED_REFUSALS = [/^403 .*\/ajax-api\/3\.0\/mlflow\/assistant\//, /^404 .*\/ajax-api\/2\.0\/mlflow\/users\/current$/];

describe("the MLflow UI in a real browser, through the gateway", () => {
  let gateway: SharedGateway;
  let browser: Browser;
  before(async () => {
    gateway = await useSharedGateway();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gateway?.release();
  });

  it("lists the experiment the test created, and the page loads without failed requests", async () => {
    const name = `browser-smoke-${Date.now()}`;
    const created = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    assert.equal(created.status, 200);

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const failures: string[] = [];
    page.on("response", (response) => {
      const line = `${response.status()} ${response.url()}`;
      if (response.status() >= 400 && response.url().startsWith(gateway.url) && !EXPECTED_REFUSALS.some((p) => p.test(line))) failures.push(line);
    });
    page.on("requestfailed", (request) => {
      if (request.url().startsWith(gateway.url)) failures.push(`failed ${request.url()}`);
    });
    await page.goto(`${gateway.url}/#/experiments`, { waitUntil: "domcontentloaded" });
    await page.getByText(name, { exact: true }).first().waitFor({ timeout: 60_000 });
    const file = screenshotPath("ui-experiment-list");
    await page.screenshot({ path: file, fullPage: false });
    assert.ok(existsSync(file) && statSync(file).size > 10_000, "a real screenshot was saved");
    assert.deepEqual(failures, [], "no request the UI made through the gateway failed");
    await page.close();
  });
});
