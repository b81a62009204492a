/**
 * The MLflow UI in Databricks mode, in headless Chromium, through the production
 * topology: browser -> front door (alice's session) -> gateway -> child -> workspace
 * emulator. The browser reaches the app by a host name that is not localhost, as on
 * Databricks Apps (MLflow's UI treats localhost specially: it offers its assistant there).
 * Data is written the way a team would: everything in ui_seed.py by the real MLflow client
 * through the app with alice's token, and one file by a notebook (straight into the
 * workspace). Then every page of ui-walk.ts, as in local mode.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import { launchBrowser, screenshotPath } from "../support/browser.js";
import { databricksEnv, grantAppAccess, workspaceUsers } from "../support/databricks.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { runPythonJson } from "../support/python.js";
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

const ALICE = "alice@example.com";
const NOTE = "hello from a Databricks notebook\n";
/** Resolved to the front door's loopback address by Chromium itself (--host-resolver-rules). */
const APP_HOST = "team-mlflow.databricksapps.test";

describe("every page of the MLflow UI with Databricks as the backend", () => {
  let workspace: WorkspaceEmulator;
  let gateway: GatewayProcess;
  let frontDoor: FrontDoor;
  let browser: Browser;
  let context: BrowserContext;
  let target: WalkTarget;
  const results: PageResult[] = [];
  let walker: Walker | undefined;
  const stamp = Date.now();
  const model = `main.ui_walk.forecast_${stamp}`;
  const prompt = `main.ui_walk.qa_prompt_${stamp}`;

  before(async () => {
    workspace = await startWorkspaceEmulator({ users: workspaceUsers(ALICE) });
    await grantAppAccess(workspace, { modelSchema: "main.ui_walk" });
    gateway = await startGateway({ tempDataDir: false, env: databricksEnv(workspace) });
    frontDoor = await startFrontDoor({ upstream: gateway.url, workspace });
    const token = await workspace.mintUserToken({ userName: ALICE });
    // Typed as a plain name, filed by the gateway under its root folder in the workspace.
    const seed = await runPythonJson<Seed>("ui_seed.py", [frontDoor.url, `forecasting-${stamp}`, model, prompt], { MLFLOW_TRACKING_TOKEN: token });
    await workspace.putRunArtifact(seed.runs.baseline, "notes/from-notebook.txt", NOTE);
    const port = new URL(frontDoor.url).port;
    target = { mode: "databricks", url: `http://${APP_HOST}:${port}`, seed, model, prompt };

    browser = await launchBrowser([`--host-resolver-rules=MAP ${APP_HOST} 127.0.0.1`]);
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const [name, value] = frontDoor.login(ALICE).split("=");
    await context.addCookies([{ name: name ?? "", value: value ?? "", url: target.url }]);
  });
  after(async () => {
    saveResults("databricks", results);
    await walker?.close();
    await context?.close();
    await browser?.close();
    await frontDoor?.close();
    await gateway?.stop();
    await workspace?.stop();
  });

  for (const spec of PAGES) {
    it(spec.title, async () => {
      walker ??= await openWalker(context, target);
      const result = await walker.walk(spec);
      results.push(result);
      assert.notEqual(result.status, "fails", `${spec.title}:\n${result.problems.join("\n")}`);
    });
  }

  it("previews a file a notebook wrote straight into the workspace", async () => {
    const page = await context.newPage();
    await page.goto(`${target.url}/#/experiments/${target.seed.experiment_id}/runs/${target.seed.runs.baseline}/artifacts/notes/from-notebook.txt`);
    await page.getByText(NOTE.trim()).first().waitFor({ timeout: 45_000 });
    await page.screenshot({ path: screenshotPath("ui-databricks-notebook-file") });
    await page.close();
  });

  it("hides the MLflow assistant on the app's host name: no panel, no button", async () => {
    const page = await context.newPage();
    await page.goto(`${target.url}/#/experiments`);
    await page.getByText(target.seed.experiment_name).first().waitFor({ timeout: 45_000 });
    await page.waitForTimeout(1_000);
    assert.equal(await page.locator('[data-assistant-ui="true"]').count(), 0, "no assistant button");
    assert.equal(await page.getByText("Welcome to MLflow Assistant").count(), 0, "no assistant panel");
    await page.close();
  });

  it("stores the trace logged through the app in the workspace, through the APIs MLflow uses against Databricks", () => {
    assert.ok(Array.isArray(target.seed.trace_ids), `the client read its trace back with spans: ${JSON.stringify(target.seed.trace_ids)}`);
    const traceId = target.seed.trace_ids[0] ?? "";
    // Started as the service principal, then its data written through the signed URL the workspace handed out.
    const started = workspace.calls.find((c) => c.method === "POST" && c.path === "/api/3.0/mlflow/traces" && c.status === 200);
    assert.equal(started?.principalKind, "service_principal");
    const credential = workspace.calls.find((c) => c.path === `/api/2.0/mlflow/traces/${traceId}/credentials-for-data-upload`);
    assert.equal(credential?.status, 200);
    assert.equal(credential?.principalKind, "service_principal");
    const written = workspace.calls.find((c) => c.method === "PUT" && c.path.includes(`/Traces/${traceId}/artifacts/traces.json`));
    assert.equal(written?.status, 200);
    assert.equal(written?.signedFor?.principalKind, "service_principal");
  });

  it("answers what Unity Catalog has no meaning for with a clear MLflow-shaped error", async () => {
    const token = await workspace.mintUserToken({ userName: ALICE });
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, string> }> => {
      const response = await fetch(`${frontDoor.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, string> };
    };
    const stage = await call("POST", "/api/2.0/mlflow/model-versions/transition-stage", {
      name: model,
      version: "1",
      stage: "Production",
      archive_existing_versions: false,
    });
    assert.equal(stage.status, 501);
    assert.equal(stage.json["error_code"], "NOT_IMPLEMENTED");
    assert.match(stage.json["message"] ?? "", /use aliases/);
    const byTag = await call("GET", `/api/2.0/mlflow/registered-models/search?filter=${encodeURIComponent("tags.owner = 'forecasting'")}`);
    assert.equal(byTag.status, 400);
    assert.match(byTag.json["message"] ?? "", /filtered by name only/);
    // The client's register_prompt (a registered model tagged as a prompt) got the same reason as the Prompts page.
    assert.match(JSON.stringify(target.seed.prompt_version), /Prompts are not served through this app with a Unity Catalog registry/);
  });

  it("docs/ui-pages.md states what this walk found (npm run ui:table rewrites it)", () => {
    const documented = documentedColumn("databricks");
    for (const result of results) assert.equal(documented.get(result.title), expectedCell(result), result.title);
  });
});
