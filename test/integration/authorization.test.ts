import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startWorkspaceEmulator, type WorkspaceEmulator } from "../emulator/index.js";
import { ucAdmin } from "../emulator/uc-admin.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import type { AuditEventRecord } from "../../src/audit/audit-record.js";
import { readAuditEvents } from "../support/audit-files.js";
import { databricksEnv, grantAppAccess, MLMODEL_WITH_SIGNATURE, WORKSPACE_ADMIN } from "../support/databricks.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { runPythonJson } from "../support/python.js";
import { launchBrowser, screenshotPath } from "../support/browser.js";
import { EXPECTED_REFUSALS } from "../browser/ui-walk.js";
import { waitFor } from "../support/wait-for.js";

// Two teams share one app. The policy is the shipped example's shape, with a short group
// cache so a membership change shows within the test.
const GROUP_CACHE_SECONDS = 3;
const GROUP_STALE_SECONDS = 6;
const POLICY = `
version: 1
creators_own: true
groups: { cache_seconds: ${GROUP_CACHE_SECONDS}, stale_seconds: ${GROUP_STALE_SECONDS} }
grants:
  - { name: reviewers-read, principals: ["group:reviewers"], allow: READ }
  - { name: team-a, principals: ["group:team-a"], allow: EDIT, experiments: ["/Shared/team-a/**"], models: ["main.team_a.*"] }
  - { name: team-b, principals: ["group:team-b"], allow: EDIT, experiments: ["/Shared/team-b/**"], models: ["main.team_b.*"] }
  - { name: platform-admins, principals: ["group:admins"], allow: ADMIN }
protected_aliases:
  - { name: leads-move-champion, aliases: [champion], models: ["main.*.*"], principals: ["group:ml-leads"] }
`;

const ANA = "ana@example.com"; // team-a, creates the team's experiment and model
const ALEX = "alex@example.com"; // team-a, an editor of what Ana created
const LENA = "lena@example.com"; // team-a and ml-leads
const BEN = "ben@example.com"; // team-b
const RITA = "rita@example.com"; // reviewers
const STAMP = Date.now();
const MODEL_A = `main.team_a.churn_${STAMP}`;

interface StepResult {
  ok: boolean;
  value?: unknown;
  status?: number;
  error_code?: string;
  message?: string;
}

let workspace: WorkspaceEmulator;
let gateway: GatewayProcess;
let frontDoor: FrontDoor;
let auditDir: string;
const tokens = new Map<string, string>();
let expA: string;
let runA: string;
let expB: string;

async function steps(who: string, list: Array<Record<string, unknown>>): Promise<StepResult[]> {
  return runPythonJson<StepResult[]>("policy_steps.py", [frontDoor.url, JSON.stringify(list)], {
    MLFLOW_TRACKING_TOKEN: tokens.get(who) ?? "",
    POLICY_MLMODEL: MLMODEL_WITH_SIGNATURE,
  });
}

/** A browser session at the front door (the UI's ajax calls and GraphQL come with its cookie, not a token). */
async function browserSession(who: string): Promise<string> {
  const login = await fetch(`${frontDoor.url}/.frontdoor/login?user=${encodeURIComponent(who)}`, { redirect: "manual" });
  const cookie = login.headers.get("set-cookie")?.split(";")[0];
  assert.ok(cookie !== undefined, `no session for ${who}`);
  return cookie;
}

async function call(who: string, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  // API paths take the person's token; the UI's paths take a browser session, as on Databricks Apps.
  const credentials: Record<string, string> = pathAndQuery.startsWith("/api/")
    ? { authorization: `Bearer ${tokens.get(who) ?? ""}` }
    : { cookie: await browserSession(who) };
  const response = await fetch(`${frontDoor.url}${pathAndQuery}`, {
    method,
    headers: { ...credentials, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}

function assertDenied(result: StepResult | { status: number; json: Record<string, unknown> }, rule: RegExp | string, need?: string): void {
  const status = result.status;
  assert.ok(!("json" in result) || result.json["error_code"] !== undefined, JSON.stringify(result));
  const message = "json" in result ? String(result.json["message"]) : String(result.message);
  const code = "json" in result ? result.json["error_code"] : result.error_code;
  assert.equal(status, 403, message);
  assert.equal(code, "PERMISSION_DENIED");
  assert.match(message, typeof rule === "string" ? new RegExp(`\\(rule ${rule}\\)`) : rule);
  if (need !== undefined) assert.match(message, new RegExp(`needs ${need}`));
}

function policyEvents(): AuditEventRecord[] {
  return readAuditEvents(auditDir).filter((e) => e.outcome.gateway_error === "POLICY_DENIED");
}

before(async () => {
  workspace = await startWorkspaceEmulator({
    users: [
      { userName: WORKSPACE_ADMIN, groups: ["admins"] },
      { userName: ANA, groups: ["team-a"] },
      { userName: ALEX, groups: ["team-a"] },
      { userName: LENA, groups: ["team-a", "ml-leads"] },
      { userName: BEN, groups: ["team-b"] },
      { userName: RITA, groups: ["reviewers"] },
    ],
  });
  await grantAppAccess(workspace, { modelSchema: "main.team_a" });
  await (await ucAdmin(workspace, WORKSPACE_ADMIN)).allowModels("main.team_b", workspace.servicePrincipal.applicationId);
  for (const user of [WORKSPACE_ADMIN, ANA, ALEX, LENA, BEN, RITA]) tokens.set(user, await workspace.mintUserToken({ userName: user }));
  // The teams' folders, made by a workspace admin as a platform team would.
  for (const folder of ["/Shared/team-a", "/Shared/team-b"]) {
    const made = await fetch(`${workspace.url}/api/2.0/workspace/mkdirs`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.get(WORKSPACE_ADMIN) ?? ""}`, "content-type": "application/json" },
      body: JSON.stringify({ path: folder }),
    });
    assert.equal(made.status, 200);
  }
  const policyFile = path.join(mkdtempSync(path.join(tmpdir(), "policy-")), "policy.yaml");
  writeFileSync(policyFile, POLICY);
  const env = databricksEnv(workspace, { GATEWAY_POLICY_FILE: policyFile });
  auditDir = env["GATEWAY_AUDIT_DIR"] ?? "";
  gateway = await startGateway({ tempDataDir: false, env });
  frontDoor = await startFrontDoor({ upstream: gateway.url, workspace, userAuthorization: true });

  const [created] = await steps(ANA, [{ do: "create_experiment", name: `/Shared/team-a/churn-${STAMP}` }]);
  assert.ok(created?.ok, `${JSON.stringify(created)}\n${JSON.stringify(gateway.logs.filter((l) => l.source === "access").slice(-5))}`);
  expA = String(created.value);
  const [run] = await steps(ANA, [{ do: "create_run", experiment_id: expA, metric: 0.5 }]);
  assert.ok(run?.ok, JSON.stringify(run));
  runA = String(run.value);
  const made = await steps(ANA, [
    { do: "log_artifact", run_id: runA, text: "team a only" },
    { do: "log_model_files", run_id: runA },
    { do: "register", name: MODEL_A, run_id: runA },
  ]);
  assert.ok(
    made.every((step) => step.ok),
    `${JSON.stringify(made)}\n${JSON.stringify(gateway.logs.filter((l) => Number(l["status"]) >= 400).slice(-5))}`,
  );
  const [b] = await steps(BEN, [{ do: "create_experiment", name: `/Shared/team-b/fraud-${STAMP}` }]);
  assert.ok(b?.ok, JSON.stringify(b));
  expB = String(b?.value);
});

after(async () => {
  await frontDoor?.close();
  await gateway?.stop();
  await workspace?.stop();
});

describe("per-team authorization with Databricks groups", () => {
  it("a reviewer reads everything but cannot create a run or delete an experiment", async () => {
    const [read, createRun, deleteExperiment] = await steps(RITA, [
      { do: "get_run", run_id: runA },
      { do: "create_run", experiment_id: expA },
      { do: "delete_experiment", experiment_id: expA },
    ]);
    assert.deepEqual(read, { ok: true, value: expA });
    assertDenied(createRun as StepResult, "no-grant", "EDIT");
    assertDenied(deleteExperiment as StepResult, "no-grant", "MANAGE");
  });

  it("team B cannot read team A's run by id, by search, by artifact download, through GraphQL or the UI's ajax calls", async () => {
    const [byId, bySearch, download, searchAll, models, model] = await steps(BEN, [
      { do: "get_run", run_id: runA },
      { do: "search_runs", experiment_ids: [expA] },
      { do: "download_artifact", run_id: runA },
      { do: "search_all_experiments" },
      { do: "search_models" },
      { do: "get_model", name: MODEL_A },
    ]);
    assertDenied(byId as StepResult, "no-grant", "READ");
    assertDenied(bySearch as StepResult, "no-grant", "READ");
    assertDenied(download as StepResult, "no-grant", "READ");
    assert.deepEqual(searchAll?.value, [`/Shared/team-b/fraud-${STAMP}`], "the experiment list holds only team B's, across pages of two");
    assert.ok(Array.isArray(models?.value) && !(models.value as string[]).includes(MODEL_A), JSON.stringify(models));
    assertDenied(model as StepResult, "no-grant", "READ");

    const artifact = await call(BEN, "GET", `/api/2.0/mlflow-artifacts/artifacts/databricks/mlflow-tracking/${expA}/${runA}/artifacts/note.txt`);
    assertDenied(artifact, "no-grant", "READ");
    const ajax = await call(BEN, "GET", `/ajax-api/2.0/mlflow/runs/get?run_id=${runA}`);
    assertDenied(ajax, "no-grant", "READ");
    const graphql = await call(BEN, "POST", "/graphql", {
      query: "query GetRun($data: MlflowGetRunInput!) { mlflowGetRun(input: $data) { run { info { runUuid } } } }",
      variables: { data: { runId: runA } },
    });
    assertDenied(graphql, "no-grant", "READ");
    // A run id that does not exist is refused the same way: a refusal never tells what exists.
    const ghost = await call(BEN, "GET", `/api/2.0/mlflow/runs/get?run_id=${"0".repeat(32)}`);
    assertDenied(ghost, "no-grant", "READ");
    assert.doesNotMatch(JSON.stringify([byId, artifact, graphql]), /churn/, "no name of team A's objects in a refusal");

    // Team A reads its own through the same doors.
    const [own] = await steps(ANA, [{ do: "download_artifact", run_id: runA }]);
    assert.deepEqual(own, { ok: true, value: "team a only" });
    // The run page's own query asks for the run's model versions of every team: answered, filtered to readable models.
    const runPage = await call(ANA, "POST", "/graphql", {
      query: "query GetRun($data: MlflowGetRunInput!) { mlflowGetRun(input: $data) { run { info { runUuid } modelVersions { name version } } } }",
      variables: { data: { runId: runA } },
    });
    assert.equal(runPage.status, 200, JSON.stringify(runPage.json));
    const versions = (runPage.json as { data: { mlflowGetRun: { run: { modelVersions: Array<{ name: string }> } } } }).data.mlflowGetRun.run
      .modelVersions;
    assert.deepEqual(
      versions.map((v) => v.name),
      [MODEL_A],
    );
  });

  it("a team-scoped person's MLflow UI lists only the team's experiments and shows its run page, with no refused call", async () => {
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const [name, value] = frontDoor.login(ANA).split("=");
      await context.addCookies([{ name: name ?? "", value: value ?? "", url: frontDoor.url }]);
      const page = await context.newPage();
      const failed: string[] = [];
      page.on("response", (response) => {
        // The UI's probes that fail in every deployment (the UI walk's list) are not this policy's doing.
        const line = `${response.status()} ${response.request().method()} ${response.url().slice(frontDoor.url.length).split("?")[0] ?? ""}`;
        if (response.url().startsWith(frontDoor.url) && response.status() >= 400 && !EXPECTED_REFUSALS.some((p) => p.test(line)))
          failed.push(`${response.status()} ${response.request().method()} ${response.url().slice(frontDoor.url.length)}`);
      });
      await page.goto(`${frontDoor.url}/#/experiments`, { waitUntil: "domcontentloaded" });
      await page.keyboard.press("Escape").catch(() => undefined);
      await page.getByText(`churn-${STAMP}`).first().waitFor({ timeout: 30_000 });
      assert.equal(await page.getByText(`fraud-${STAMP}`).count(), 0, "team B's experiment is not listed");
      await page.screenshot({ path: screenshotPath("authorization-team-a-experiments") });
      // The run page's GraphQL query (with the run's model versions) answers, filtered.
      await page.goto(`${frontDoor.url}/#/experiments/${expA}/runs/${runA}`, { waitUntil: "domcontentloaded" });
      await page.getByText(MODEL_A).first().waitFor({ timeout: 30_000 });
      await page.waitForTimeout(1_000);
      await page.screenshot({ path: screenshotPath("authorization-team-a-run") });
      assert.deepEqual(failed, []);
    } finally {
      await browser.close();
    }
  });

  it("an editor cannot delete what a teammate created; the creator can", async () => {
    const [alexDeletes] = await steps(ALEX, [{ do: "delete_run", run_id: runA }]);
    assertDenied(alexDeletes as StepResult, "no-grant", "MANAGE");
    const [alexEdits] = await steps(ALEX, [{ do: "create_run", experiment_id: expA }]);
    assert.equal(alexEdits?.ok, true, JSON.stringify(alexEdits));
    const [anaDeletes] = await steps(ANA, [{ do: "delete_run", run_id: String(alexEdits?.value) }]);
    assert.equal(anaDeletes?.ok, true, JSON.stringify(anaDeletes));
    const forged = await call(ALEX, "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", {
      experiment_id: expA,
      key: "gateway.owner",
      value: ALEX,
    });
    assert.equal(forged.status, 403);
    assert.match(String(forged.json["message"]), /only the gateway writes it/);
  });

  it("only the alias group moves champion", async () => {
    const [anaChampion, anaChallenger] = await steps(ANA, [
      { do: "set_alias", name: MODEL_A, alias: "champion", version: "1" },
      { do: "set_alias", name: MODEL_A, alias: "challenger", version: "1" },
    ]);
    assertDenied(anaChampion as StepResult, /protected by leads-move-champion.*\(rule leads-move-champion\)/, "EDIT");
    assert.equal(anaChallenger?.ok, true, JSON.stringify(anaChallenger));
    const [lenaChampion] = await steps(LENA, [{ do: "set_alias", name: MODEL_A, alias: "champion", version: "1" }]);
    assert.equal(lenaChampion?.ok, true, JSON.stringify(lenaChampion));
    const [benChampion] = await steps(BEN, [{ do: "set_alias", name: MODEL_A, alias: "champion", version: "1" }]);
    // Ben cannot even read team A's model, which the client looks up first.
    assertDenied(benChampion as StepResult, "no-grant");
  });

  it("a group membership changed in the workspace takes effect within the cache lifetime", async () => {
    const before = await call(RITA, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: expB });
    assertDenied(before, "no-grant", "EDIT");
    const admin = tokens.get(WORKSPACE_ADMIN) ?? "";
    const filter = encodeURIComponent('displayName eq "team-b"');
    const groups = (await (
      await fetch(`${workspace.url}/api/2.0/preview/scim/v2/Groups?filter=${filter}`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as {
      Resources: Array<{ id: string }>;
    };
    const group = groups.Resources[0];
    const rita = workspace.users.find((u) => u.userName === RITA);
    assert.ok(group && rita);
    const patched = await fetch(`${workspace.url}/api/2.0/preview/scim/v2/Groups/${group.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [{ op: "add", path: "members", value: [{ value: rita.id }] }],
      }),
    });
    assert.equal(patched.status, 204);
    const changedAt = Date.now();
    let allowedAfterMs: number | undefined;
    while (Date.now() - changedAt < (GROUP_CACHE_SECONDS + 5) * 1000) {
      const attempt = await call(RITA, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: expB });
      if (attempt.status === 200) {
        allowedAfterMs = Date.now() - changedAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(allowedAfterMs !== undefined, "the new membership never took effect");
    assert.ok(allowedAfterMs <= (GROUP_CACHE_SECONDS + 1) * 1000, `took ${allowedAfterMs} ms, more than the ${GROUP_CACHE_SECONDS} s cache lifetime`);
  });

  it("audits each refusal with its rule, the permission and the grant that matched", async () => {
    // Events are written as calls close: wait for the last refusal this test reads.
    const events = await waitFor("the refusals' audit events", () => {
      const all = policyEvents();
      return all.some((e) => e.action === "Graphql" && e.principal.email === BEN) ? all : undefined;
    });
    const find = (action: string, email: string): AuditEventRecord | undefined =>
      events.find((e) => e.action === action && e.principal.email === email);
    const benGetRun = find("GetRun", BEN);
    assert.equal(benGetRun?.outcome.decided_by, "no-grant");
    assert.equal(benGetRun?.outcome.permission, "READ");
    assert.equal(benGetRun?.outcome.status, 403);
    assert.equal(find("DeleteExperiment", RITA)?.outcome.permission, "MANAGE");
    const champion = find("SetRegisteredModelAlias", ANA);
    assert.equal(champion?.outcome.decided_by, "leads-move-champion");
    assert.equal(champion?.outcome.grant, "leads-move-champion");
    assert.equal(find("Graphql", BEN)?.outcome.decided_by, "no-grant");
    // Allowed calls carry the grant that allowed them.
    const allowed = readAuditEvents(auditDir).find((e) => e.action === "SetRegisteredModelAlias" && e.principal.email === LENA);
    assert.deepEqual([allowed?.outcome.decision, allowed?.outcome.decided_by, allowed?.outcome.grant], ["allow", "team-a", "team-a"]);
  });

  it("when SCIM fails, keeps a recent answer, then refuses changes that depend on groups and says why", async () => {
    // Ben's groups are read afresh now (his cached answer has run out), then SCIM starts failing.
    await new Promise((resolve) => setTimeout(resolve, GROUP_CACHE_SECONDS * 1000));
    const fetchedAt = Date.now();
    assert.equal((await call(BEN, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: expB })).status, 200);
    const sp = workspace.servicePrincipal.applicationId;
    workspace.addDenyRule({ principal: sp, pathPrefix: "/api/2.0/preview/scim" });
    try {
      let refused: { status: number; json: Record<string, unknown> } | undefined;
      let refusedAfterMs = 0;
      while (Date.now() - fetchedAt < (GROUP_STALE_SECONDS + 5) * 1000) {
        const attempt = await call(BEN, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: expB });
        if (attempt.status === 403) {
          refused = attempt;
          refusedAfterMs = Date.now() - fetchedAt;
          break;
        }
        assert.equal(attempt.status, 200, "within the stale bound the last answer is used");
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.ok(refused !== undefined, "changes were never refused while SCIM failed");
      // Served from the last answer until it was stale_seconds old, then refused.
      assert.ok(refusedAfterMs >= GROUP_STALE_SECONDS * 1000 - 200, `refused after ${refusedAfterMs} ms, before the stale bound`);
      assert.ok(refusedAfterMs <= (GROUP_STALE_SECONDS + 3) * 1000, `refused only after ${refusedAfterMs} ms`);
      assertDenied(refused, "groups-unavailable", "EDIT");
      assert.match(
        String(refused.json["message"]),
        /group membership could not be checked \(the workspace's group directory \(SCIM\) could not be read: the service principal lacks permission \(403/,
      );
    } finally {
      workspace.clearDenyRules();
    }
    // Recovered on the next call once SCIM answers again.
    const after = await call(BEN, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: expB });
    assert.equal(after.status, 200, JSON.stringify(after.json));
  });
});
