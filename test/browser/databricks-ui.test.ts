/**
 * The MLflow UI in Databricks mode, in headless Chromium, through the production
 * topology: browser -> front door (alice's session) -> gateway -> child -> workspace
 * emulator. Data is written the way a team would: runs by the real MLflow client, a file
 * by a notebook (straight into the workspace), a Unity Catalog model through the gateway.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import { launchBrowser, screenshotPath } from "../support/browser.js";
import { databricksEnv, grantAppAccess, MLMODEL_WITH_SIGNATURE, workspaceUsers } from "../support/databricks.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { runPythonJson } from "../support/python.js";

const ALICE = "alice@example.com";
const NOTE = "hello from a Databricks notebook\n";
const UI_TIMEOUT_MS = 60_000;

interface Tracked {
  experiment_id: string;
  run_id: string;
  artifact_uri: string;
}

describe("the MLflow UI with Databricks as the backend", () => {
  let workspace: WorkspaceEmulator;
  let gateway: GatewayProcess;
  let frontDoor: FrontDoor;
  let browser: Browser;
  let context: BrowserContext;
  let tracked: Tracked;
  // Typed as a plain name, filed by the gateway under its root folder in the workspace.
  const experimentName = `ui-check-${Date.now()}`;
  const experimentPath = `/Shared/mlflow/${experimentName}`;
  const model = `main.ui_check.model_${Date.now()}`;

  before(async () => {
    workspace = await startWorkspaceEmulator({ users: workspaceUsers(ALICE) });
    await grantAppAccess(workspace, { modelSchema: "main.ui_check" });
    gateway = await startGateway({ tempDataDir: false, env: databricksEnv(workspace) });
    frontDoor = await startFrontDoor({ upstream: gateway.url, workspace });
    const token = await workspace.mintUserToken({ userName: ALICE });
    tracked = await runPythonJson<Tracked>("databricks_roundtrip.py", [frontDoor.url, "track", experimentName], { MLFLOW_TRACKING_TOKEN: token });
    await workspace.putRunArtifact(tracked.run_id, "notes/hello.txt", NOTE);
    await workspace.putRunArtifact(tracked.run_id, "model/MLmodel", MLMODEL_WITH_SIGNATURE);
    await runPythonJson("databricks_roundtrip.py", [frontDoor.url, "register", model, tracked.run_id, `${tracked.artifact_uri}/model`], {
      MLFLOW_TRACKING_TOKEN: token,
    });
    const logged = await runPythonJson<{ listed: string[] }>("databricks_roundtrip.py", [frontDoor.url, "artifacts", tracked.run_id], {
      MLFLOW_TRACKING_TOKEN: token,
    });
    assert.deepEqual(logged.listed, ["through-app/plot.png", "through-app/readme.txt"]);

    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const [name, value] = frontDoor.login(ALICE).split("=");
    await context.addCookies([{ name: name ?? "", value: value ?? "", url: frontDoor.url }]);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await frontDoor?.close();
    await gateway?.stop();
    await workspace?.stop();
  });

  async function open(hash: string, shot: string, expectText: string | RegExp): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${frontDoor.url}/#${hash}`, { waitUntil: "domcontentloaded" });
    await page.getByText(expectText).first().waitFor({ timeout: UI_TIMEOUT_MS });
    await page.screenshot({ path: screenshotPath(`databricks-${shot}`) });
    return page;
  }

  it("lists the workspace's experiments", async () => {
    const page = await open("/experiments", "experiment-list", experimentPath);
    assert.ok(await page.getByText(experimentPath).first().isVisible());
    await page.close();
  });

  it("shows a run's metric as a chart", async () => {
    const page = await open(`/experiments/${tracked.experiment_id}/runs/${tracked.run_id}/model-metrics`, "run-metric-chart", "rmse");
    // The chart library draws into a canvas or an SVG; either way a plot is on the page.
    await page.locator("canvas, svg.main-svg").first().waitFor({ timeout: UI_TIMEOUT_MS });
    await page.screenshot({ path: screenshotPath("databricks-run-metric-chart") });
    await page.close();
  });

  it("previews an artifact file written in the workspace", async () => {
    const page = await open(
      `/experiments/${tracked.experiment_id}/runs/${tracked.run_id}/artifacts/notes/hello.txt`,
      "artifact-preview",
      NOTE.trim(),
    );
    assert.ok(await page.getByText(NOTE.trim()).first().isVisible());
    await page.close();
  });

  it("shows artifacts a client logged through the app: the tree, a text preview and an image preview", async () => {
    const failed: string[] = [];
    const page = await context.newPage();
    page.on("response", (response) => {
      if (response.status() >= 400 && /artifact/.test(response.url())) failed.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(`${frontDoor.url}/#/experiments/${tracked.experiment_id}/runs/${tracked.run_id}/artifacts/through-app/readme.txt`, {
      waitUntil: "domcontentloaded",
    });
    await page.getByText("logged through the app").first().waitFor({ timeout: UI_TIMEOUT_MS });
    // The tree lists both files of the folder.
    await page.getByText("plot.png").first().waitFor({ timeout: UI_TIMEOUT_MS });
    await page.screenshot({ path: screenshotPath("databricks-artifact-text") });
    await page.getByText("plot.png").first().click();
    // Decoded, not just requested: the 32x16 PNG's bytes came back whole through the app (the UI may show it from a blob: URL).
    await page.waitForFunction("[...document.images].some((i) => i.naturalWidth === 32 && i.naturalHeight === 16)", undefined, {
      timeout: UI_TIMEOUT_MS,
    });
    await page.screenshot({ path: screenshotPath("databricks-artifact-image") });
    assert.deepEqual(failed, [], "no artifact request failed");
    await page.close();
  });

  it("lists the Unity Catalog model with its alias", async () => {
    const page = await open("/models", "models-list", model);
    // MLflow greets the first visit to the registry with a dialog about its new UI.
    await page.keyboard.press("Escape");
    await page
      .getByText(/champion/)
      .first()
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await page.screenshot({ path: screenshotPath("databricks-models-list") });
    await page.close();
  });

  it("opens the model version page, whose schema comes from the version's MLmodel file", async () => {
    const page = await open(`/models/${encodeURIComponent(model)}/versions/1`, "model-version", /Version 1/);
    // The schema is read through /model-versions/get-artifact, which the gateway serves for UC.
    await page.getByText("Inputs (1)").first().waitFor({ timeout: UI_TIMEOUT_MS });
    await page.getByText("Outputs (1)").first().waitFor({ timeout: UI_TIMEOUT_MS });
    await page.screenshot({ path: screenshotPath("databricks-model-version") });
    await page.close();
  });
});
