/**
 * Issue 4, cross-site writes in a real browser (headless Chromium): alice is logged in at
 * the front door (a session cookie, SameSite=Lax, as Databricks Apps does). A page served
 * from another origin of the same site (another port on 127.0.0.1, as another Databricks
 * App would be) tries to create an experiment with her session, by fetch() and by an
 * auto-submitting form. Her cookie goes along (same site), the front door forwards her
 * identity, and the gateway must refuse the write (403 CROSS_SITE_REQUEST); the same action
 * done in the MLflow UI itself must work.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import { launchBrowser, screenshotPath } from "../support/browser.js";
import { type GatewayProcess, type LogLine, startGateway } from "../support/gateway-process.js";

const ALICE = "alice@example.com";
const CREATE_PATH = "/ajax-api/2.0/mlflow/experiments/create";
const UPLOAD_PATH = "/ajax-api/2.0/mlflow/upload-artifact";
const PLANTED_FILE = "planted.txt";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type Attack = "fetch" | "form" | "upload";

/**
 * The attacker's pages. fetch and form try to create the experiment `name`; upload tries
 * to write an artifact into alice's run `name` through MLflow's upload-artifact endpoint,
 * which (unlike experiments/create) takes any content type: there the gateway's guard is
 * the only thing in the way.
 */
function attackerPage(kind: Attack, target: string, name: string): string {
  const sendScript = (url: string, body: string) => `<!doctype html><html><head><title>loading</title></head><body><p id="result">sending</p><script>
fetch(${JSON.stringify(url)}, {
  method: "POST", credentials: "include", mode: "no-cors",
  headers: { "content-type": "text/plain" }, body: ${JSON.stringify(body)},
}).then(() => { document.title = "sent"; document.getElementById("result").textContent = "sent (opaque answer)"; },
        (e) => { document.title = "failed"; document.getElementById("result").textContent = String(e); });
</script></body></html>`;
  if (kind === "fetch") return sendScript(target + CREATE_PATH, JSON.stringify({ name }));
  if (kind === "upload")
    return sendScript(`${target}${UPLOAD_PATH}?run_uuid=${encodeURIComponent(name)}&path=${PLANTED_FILE}`, "planted by another origin");
  // text/plain forms send "<name>=<value>": split the JSON so the '=' lands inside a string.
  const body = JSON.stringify({ name });
  const [head, tail] = [body.slice(0, -1) + ',"pad":"', '"}'];
  return `<!doctype html><html><head><title>form</title></head><body>
<form id="f" method="POST" enctype="text/plain" action=${JSON.stringify(target + CREATE_PATH)}>
<input type="hidden" name='${head}' value='${tail}'></form>
<script>document.getElementById("f").submit();</script></body></html>`;
}

describe("cross-site writes in a real browser, through the front door", () => {
  let emulator: WorkspaceEmulator | undefined;
  let gateway: GatewayProcess | undefined;
  let frontDoor: FrontDoor | undefined;
  let attacker: Server | undefined;
  let attackerUrl = "";
  let browser: Browser | undefined;
  let context: BrowserContext;

  before(async () => {
    const port = await freePort();
    const [emu, gw, chromium] = await Promise.allSettled([
      startWorkspaceEmulator({ port, users: [{ userName: ALICE }] }),
      startGateway({ env: { GATEWAY_IDENTITY_MODE: "headers", DATABRICKS_HOST: `http://127.0.0.1:${port}` } }),
      launchBrowser(),
    ]);
    if (emu.status === "fulfilled") emulator = emu.value;
    if (gw.status === "fulfilled") gateway = gw.value;
    if (chromium.status === "fulfilled") browser = chromium.value;
    for (const result of [emu, gw, chromium]) if (result.status === "rejected") throw result.reason;
    frontDoor = await startFrontDoor({ upstream: gateway!.url, workspace: emulator!, userAuthorization: true });

    const target = frontDoor.url;
    attacker = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://attacker.invalid");
      const kind = url.pathname.slice(1);
      if (kind !== "fetch" && kind !== "form" && kind !== "upload") return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(attackerPage(kind, target, url.searchParams.get("name") ?? ""));
    });
    await new Promise<void>((resolve) => attacker!.listen(0, "127.0.0.1", resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;

    // Alice's browser session at the front door.
    context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
    const [cookieName, cookieValue] = frontDoor.login(ALICE).split("=") as [string, string];
    await context.addCookies([{ name: cookieName, value: cookieValue, url: frontDoor.url, httpOnly: true, sameSite: "Lax" }]);
  });

  after(async () => {
    await browser?.close();
    if (attacker !== undefined) await new Promise<void>((resolve) => attacker!.close(() => resolve()));
    await frontDoor?.close();
    await gateway?.stop();
    await emulator?.stop();
  });

  const gw = () => gateway as GatewayProcess;

  /** Looks the experiment up straight at the gateway, with the front door's headers for alice. */
  async function experimentByName(name: string): Promise<{ status: number; id: string | undefined; errorCode: string | undefined }> {
    const response = await fetch(`${gw().url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`, {
      headers: aliceHeaders(),
    });
    const body = (await response.json()) as { experiment?: { experiment_id: string }; error_code?: string };
    return { status: response.status, id: body.experiment?.experiment_id, errorCode: body.error_code };
  }

  const accessLines = (path: string) => gw().logs.filter((line: LogLine) => line.source === "access" && line["path"] === path);

  /** Straight at the gateway, with the front door's headers for alice. */
  function aliceHeaders(): Record<string, string> {
    const alice = emulator!.users.find((u) => u.userName === ALICE)!;
    return { "x-forwarded-user": `${alice.id}@${emulator!.workspaceId}`, "x-forwarded-email": ALICE, "content-type": "application/json" };
  }

  /** Opens the attacker's page in alice's browser; the one write it attempts must reach the gateway and be refused there. */
  async function attack(kind: Attack, name: string, path: string): Promise<void> {
    const before = accessLines(path).length;
    const refusedByDoor = frontDoor!.refused;
    const page = await context.newPage();
    try {
      const answers: number[] = [];
      page.on("response", (response) => {
        if (new URL(response.url()).pathname === path) answers.push(response.status());
      });
      await page.goto(`${attackerUrl}/${kind}?name=${encodeURIComponent(name)}`);
      const line = await gw().waitForLog((l) => l.source === "access" && l["path"] === path && accessLines(path).indexOf(l) >= before, 15_000);
      assert.equal(line["method"], "POST");
      assert.equal(line["status"], 403);
      assert.equal(line["error"], "CROSS_SITE_REQUEST");
      assert.equal(frontDoor!.refused, refusedByDoor, "the session cookie went along: the front door forwarded alice, the gateway refused");
      if (kind === "form") {
        // A top-level navigation shows the gateway's answer.
        await page.waitForLoadState();
        assert.deepEqual(answers, [403]);
        assert.match(await page.content(), /CROSS_SITE_REQUEST/);
      } else {
        await page.waitForFunction("document.title !== 'loading'", undefined, { timeout: 10_000 });
      }
      await page.screenshot({ path: screenshotPath(`cross-site-${kind}-refused`) });
    } finally {
      await page.close();
    }
    assert.equal(accessLines(path).length, before + 1, "exactly one attempt reached the gateway");
  }

  it("refuses a no-cors fetch() from another origin that carries alice's session (403 CROSS_SITE_REQUEST, nothing created)", async () => {
    const name = `cross-site-fetch-${randomUUID()}`;
    await attack("fetch", name, CREATE_PATH);
    assert.deepEqual(await experimentByName(name), { status: 404, id: undefined, errorCode: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("refuses an auto-submitting text/plain form from another origin (403 CROSS_SITE_REQUEST, nothing created)", async () => {
    const name = `cross-site-form-${randomUUID()}`;
    await attack("form", name, CREATE_PATH);
    assert.deepEqual(await experimentByName(name), { status: 404, id: undefined, errorCode: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("refuses a no-cors upload into alice's run from another origin, where MLflow itself would accept any body (no artifact written)", async () => {
    const experiment = await fetch(`${gw().url}/api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: aliceHeaders(),
      body: JSON.stringify({ name: `cross-site-upload-${randomUUID()}` }),
    });
    assert.equal(experiment.status, 200);
    const { experiment_id: experimentId } = (await experiment.json()) as { experiment_id: string };
    const run = await fetch(`${gw().url}/api/2.0/mlflow/runs/create`, {
      method: "POST",
      headers: aliceHeaders(),
      body: JSON.stringify({ experiment_id: experimentId }),
    });
    assert.equal(run.status, 200);
    const runId = ((await run.json()) as { run: { info: { run_id: string } } }).run.info.run_id;

    await attack("upload", runId, UPLOAD_PATH);
    const listed = await fetch(`${gw().url}/api/2.0/mlflow/artifacts/list?run_id=${runId}`, { headers: aliceHeaders() });
    assert.equal(listed.status, 200);
    assert.deepEqual(((await listed.json()) as { files?: Array<{ path: string }> }).files ?? [], [], "no artifact was planted");
  });

  it("creates the experiment when alice does it in the MLflow UI itself", async () => {
    const name = `ui-created-${randomUUID()}`;
    const page = await context.newPage();
    try {
      await page.goto(`${frontDoor!.url}/#/experiments`, { waitUntil: "domcontentloaded" });
      await page.getByRole("button", { name: "Create", exact: true }).first().click({ timeout: 60_000 });
      const dialog = page.getByRole("dialog").filter({ hasText: "Create Experiment" });
      await dialog.locator("#experimentName").fill(name);
      await page.screenshot({ path: screenshotPath("cross-site-ui-create-dialog") });
      await dialog.getByRole("button", { name: "Create", exact: true }).click();
      await dialog.waitFor({ state: "hidden", timeout: 30_000 });
      const line = await gw().waitForLog((l) => l.source === "access" && l["path"] === CREATE_PATH && l["status"] === 200, 15_000);
      assert.equal(line["operation"], "CreateExperiment");
      const created = await experimentByName(name);
      assert.equal(created.status, 200);
      assert.match(created.id ?? "", /^\d+$/);
      // The UI moves on to the new experiment's page.
      await page.waitForURL(new RegExp(`/experiments/${created.id}`), { timeout: 30_000 });
      const file = screenshotPath("cross-site-ui-created");
      await page.screenshot({ path: file });
      assert.ok(existsSync(file) && statSync(file).size > 10_000, "a real screenshot was saved");
    } finally {
      await page.close();
    }
  });
});
