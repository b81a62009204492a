/**
 * Issue 4, identity headers: spellings, case, repeats and control characters. A gateway in
 * `headers` mode (the Databricks Apps default: the front door's X-Forwarded-* headers name
 * the caller, a forwarded token is verified when present), reached two ways: straight,
 * with hand-made headers (playing the front door), and through the front-door emulator
 * (the production topology, with user authorization on). Requests that must be refused
 * carry a unique marker in the query string, which must never show up in the child's
 * access log.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import type { PublicUser, WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import type { GatewayProcess } from "../support/gateway-process.js";
import { startIdentityStack } from "../support/identity-stack.js";
import type { ErrorBody } from "../support/error-body.js";
import { rawExchange } from "../support/raw-http.js";

const ALICE = "alice@example.com";
const BOB = "bob@example.com";
const SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * node:http keeps header names as given (fetch would lower-case them); a flat
 * [name, value, name, value, ...] list keeps repeats too (Node then adds no Host itself).
 */
function send(url: string, options: { method?: string; headers?: Record<string, string> | string[]; body?: string } = {}): Promise<Answer> {
  const headers = Array.isArray(options.headers) ? ["Host", new URL(url).host, ...options.headers] : (options.headers ?? {});
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("identity (headers mode): header spellings, case, repeats and control characters", () => {
  let emulator: WorkspaceEmulator | undefined;
  let gateway: GatewayProcess | undefined;
  let frontDoor: FrontDoor | undefined;
  let alice: PublicUser;
  let bob: PublicUser;
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    ({ emulator, gateway } = await startIdentityStack("headers", [ALICE, BOB]));
    frontDoor = await startFrontDoor({ upstream: gateway.url, workspace: emulator, userAuthorization: true });
    alice = emulator.users.find((u) => u.userName === ALICE)!;
    bob = emulator.users.find((u) => u.userName === BOB)!;
    aliceToken = await emulator.mintUserToken({ userName: ALICE });
    bobToken = await emulator.mintUserToken({ userName: BOB });
  });

  after(async () => {
    await frontDoor?.close();
    await gateway?.stop();
    await emulator?.stop();
  });

  const gw = () => gateway as GatewayProcess;
  const door = () => frontDoor as FrontDoor;
  const newProbe = () => `probe-${randomUUID()}`;

  /** What the front door would send for alice, hand-made. */
  function aliceHeaders(): Record<string, string> {
    return {
      "X-Forwarded-User": `${alice.id}@${emulator!.workspaceId}`,
      "X-Forwarded-Email": ALICE,
      "X-Forwarded-Preferred-Username": "alice",
      "X-Forwarded-Access-Token": aliceToken,
    };
  }

  async function reachesChild(probe: string): Promise<void> {
    await gw().waitForLog((line) => line.source === "mlflow" && String(line.message).includes(probe), 10_000);
  }

  /** A valid request sent afterwards reaches the child's (ordered, one worker) access log first; the refused ones are not in it. */
  async function assertNeverReachedChild(...probes: string[]): Promise<void> {
    const control = newProbe();
    const answer = await send(`${gw().url}${SEARCH}&probe=${control}`, { headers: aliceHeaders() });
    assert.equal(answer.status, 200, `control request: ${answer.body}`);
    await reachesChild(control);
    for (const probe of probes) {
      const leaked = gw().logs.filter((line) => line.source === "mlflow" && String(line.message).includes(probe));
      assert.deepEqual(leaked, [], `a refused request (${probe}) reached the mlflow child`);
    }
  }

  function assertHeaderRejected(answer: Answer | { status: number; body: string }, message: RegExp): ErrorBody {
    assert.equal(answer.status, 400, answer.body);
    const body = JSON.parse(answer.body) as ErrorBody;
    assert.equal(body.error_code, "BAD_REQUEST");
    assert.equal(body.gateway_error, "HEADER_REJECTED");
    assert.match(body.request_id, /^[0-9a-f-]{36}$/);
    assert.match(body.message, message);
    return body;
  }

  /** Creates an experiment and a run that claims to be mallory; returns what MLflow recorded. */
  async function createRunClaimingMallory(
    base: string,
    apiPrefix: string,
    headers: Record<string, string>,
  ): Promise<{ user_id: string; tag: string | undefined }> {
    const json = { ...headers, "Content-Type": "application/json" };
    const experiment = await send(`${base}${apiPrefix}/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ name: `forged-headers-${randomUUID()}` }),
    });
    assert.equal(experiment.status, 200, experiment.body);
    const experimentId = (JSON.parse(experiment.body) as { experiment_id: string }).experiment_id;
    const created = await send(`${base}${apiPrefix}/2.0/mlflow/runs/create`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ experiment_id: experimentId, user_id: "mallory", tags: [{ key: "mlflow.user", value: "mallory" }] }),
    });
    assert.equal(created.status, 200, created.body);
    const runId = (JSON.parse(created.body) as { run: { info: { run_id: string } } }).run.info.run_id;
    // Read back straight from the gateway, as alice, so only what was stored is seen.
    const got = await send(`${gw().url}/api/2.0/mlflow/runs/get?run_id=${runId}`, { headers: aliceHeaders() });
    assert.equal(got.status, 200, got.body);
    const run = (JSON.parse(got.body) as { run: { info: { user_id: string }; data: { tags?: Array<{ key: string; value: string }> } } }).run;
    return { user_id: run.info.user_id, tag: run.data.tags?.find((t) => t.key === "mlflow.user")?.value };
  }

  it("accepts the front door's own headers, straight and through the front door (the refusals below can fail)", async () => {
    const straight = newProbe();
    assert.equal((await send(`${gw().url}${SEARCH}&probe=${straight}`, { headers: aliceHeaders() })).status, 200);
    await reachesChild(straight);
    const viaDoor = newProbe();
    const answer = await send(`${door().url}${SEARCH}&probe=${viaDoor}`, { headers: { Authorization: `Bearer ${aliceToken}` } });
    assert.equal(answer.status, 200, answer.body);
    await reachesChild(viaDoor);
  });

  it("refuses underscore spellings of identity and credential headers with 400 HEADER_REJECTED, sent straight", async () => {
    const probes: string[] = [];
    for (const [name, value] of [
      ["X_Forwarded_Email", BOB],
      ["x_forwarded_user", `${bob.id}@${emulator!.workspaceId}`],
      ["X_FORWARDED_PREFERRED_USERNAME", "bob"],
      ["X_Forwarded_Access_Token", bobToken],
      ["Proxy_Authorization", `Bearer ${bobToken}`],
      ["X_Databricks_Org_Id", "1"],
    ] as const) {
      const probe = newProbe();
      probes.push(probe);
      const answer = await send(`${gw().url}${SEARCH}&probe=${probe}`, { headers: { ...aliceHeaders(), [name]: value } });
      const body = assertHeaderRejected(answer, /underscores in the name of/);
      assert.ok(body.message.includes(`"${name}"`), body.message);
      assert.ok(!answer.body.includes(bobToken), "the smuggled token is not echoed");
    }
    // Refused before identity: an underscore spelling with no other identity is a 400 too, not a 401.
    const bare = newProbe();
    probes.push(bare);
    assertHeaderRejected(await send(`${gw().url}${SEARCH}&probe=${bare}`, { headers: { X_Forwarded_User: "anyone" } }), /X_Forwarded_User/);
    await assertNeverReachedChild(...probes);
  });

  it("refuses an underscore spelling that the front door passes through (alice logged in, claiming bob's e-mail)", async () => {
    const refusedByDoor = door().refused;
    const probe = newProbe();
    const answer = await send(`${door().url}${SEARCH}&probe=${probe}`, {
      headers: { Authorization: `Bearer ${aliceToken}`, X_Forwarded_Email: BOB },
    });
    assertHeaderRejected(answer, /"x_forwarded_email" is refused/i);
    assert.equal(door().refused, refusedByDoor, "the front door let it through; the gateway refused it");
    await assertNeverReachedChild(probe);
  });

  it("replaces mixed-case forged identity headers sent through the front door: the run belongs to the logged-in user", async () => {
    const forged = {
      "X-FORWARDED-USER": `${bob.id}@${emulator!.workspaceId}`,
      "x-Forwarded-Email": BOB,
      "X-forwarded-PREFERRED-username": "bob",
      // Even a valid token of bob's, in a spelling a case-sensitive filter would miss.
      "X-FORWARDED-ACCESS-TOKEN": bobToken,
      "X-Real-IP": "10.0.0.66",
    };
    // A program with alice's token on /api/, and alice's browser session on /ajax-api/.
    const program = await createRunClaimingMallory(door().url, "/api", { ...forged, Authorization: `Bearer ${aliceToken}` });
    assert.deepEqual(program, { user_id: ALICE, tag: ALICE });
    const browser = await createRunClaimingMallory(door().url, "/ajax-api", { ...forged, Cookie: door().login(ALICE) });
    assert.deepEqual(browser, { user_id: ALICE, tag: ALICE });
  });

  it("refuses identity headers repeated with conflicting values (any case), and accepts identical repeats", async () => {
    const aliceUser = `${alice.id}@${emulator!.workspaceId}`;
    const bobUser = `${bob.id}@${emulator!.workspaceId}`;
    const named = ["X-Forwarded-Preferred-Username", "alice"];
    const cases: Array<[string, string[]]> = [
      ["same spelling", ["X-Forwarded-User", aliceUser, "X-Forwarded-Email", ALICE, "X-Forwarded-Email", BOB]],
      ["mixed case", ["X-Forwarded-User", aliceUser, "x-forwarded-user", bobUser, "X-Forwarded-Email", ALICE]],
      [
        "two tokens",
        ["X-Forwarded-User", aliceUser, "X-Forwarded-Email", ALICE, "X-Forwarded-Access-Token", aliceToken, "x-FORWARDED-access-TOKEN", bobToken],
      ],
      [
        "two bearers",
        ["X-Forwarded-User", aliceUser, "X-Forwarded-Email", ALICE, "Authorization", `Bearer ${aliceToken}`, "authorization", `Bearer ${bobToken}`],
      ],
    ];
    const probes: string[] = [];
    for (const [name, headers] of cases) {
      const probe = newProbe();
      probes.push(probe);
      const answer = await send(`${gw().url}${SEARCH}&probe=${probe}`, { headers: [...named, ...headers] });
      const body = assertHeaderRejected(answer, /was sent more than once with different values/);
      assert.ok(!answer.body.includes(bobToken) && !answer.body.includes(aliceToken), `${name}: no token echoed`);
      assert.ok(!body.message.includes(BOB) && !body.message.includes(bobUser), `${name}: no value echoed`);
    }
    await assertNeverReachedChild(...probes);

    const identical = newProbe();
    const same = await send(`${gw().url}${SEARCH}&probe=${identical}`, {
      headers: [...named, "X-Forwarded-User", aliceUser, "x-forwarded-user", aliceUser, "X-Forwarded-Email", ALICE, "X-FORWARDED-EMAIL", ALICE],
    });
    assert.equal(same.status, 200, same.body);
    await reachesChild(identical);
  });

  it("refuses CR, LF, obs-fold and NUL inside an identity header at the HTTP parser (400), and keeps serving", async () => {
    const head = (probe: string) => `GET ${SEARCH}&probe=${probe} HTTP/1.1\r\nHost: 127.0.0.1:${gw().port}\r\n`;
    const identity = `X-Forwarded-User: ${alice.id}@${emulator!.workspaceId}\r\nX-Forwarded-Preferred-Username: alice\r\n`;
    const probes: string[] = [];
    for (const [name, smuggled] of [
      ["bare CR", `X-Forwarded-Email: ${ALICE}\rX-Forwarded-Email: ${BOB}\r\n`],
      ["bare LF", `X-Forwarded-Email: ${ALICE}\nX-Forwarded-Email: ${BOB}\r\n`],
      ["CR before a forged user", `X-Forwarded-Email: ${ALICE}\rX-Forwarded-User: ${bob.id}@${emulator!.workspaceId}\r\n`],
      ["obs-fold", `X-Forwarded-Email: ${ALICE}\r\n ${BOB}\r\n`],
      ["NUL", `X-Forwarded-Email: ${ALICE}\u0000${BOB}\r\n`],
    ] as const) {
      const probe = newProbe();
      probes.push(probe);
      const response = await rawExchange(gw().port, [`${head(probe)}${identity}${smuggled}Connection: close\r\n\r\n`]);
      assert.equal(response.status, 400, `${name}: ${JSON.stringify(response)}`);
      assert.match(response.head, /^HTTP\/1\.1 400 Bad Request\r\n/, name);
      assert.match(`${response.head.toLowerCase()}\r\n`, /\r\nconnection: close\r\n/, `${name}: the connection is closed`);
    }
    // The same connection-level check lets a well-formed request through, and the gateway is still up.
    const fine = newProbe();
    const ok = await rawExchange(gw().port, [`${head(fine)}${identity}X-Forwarded-Email: ${ALICE}\r\nConnection: close\r\n\r\n`]);
    assert.equal(ok.status, 200, ok.head);
    assert.match(ok.body, /"experiments"/);
    assert.equal((await fetch(`${gw().url}/-/live`)).status, 200);
    assert.equal(gw().process.exitCode, null, "the gateway process is still running");
    await assertNeverReachedChild(...probes);
  });

  it("judges a same-origin browser write by the front door's X-Forwarded-Host, as cross-site.ts intends", async () => {
    // A browser without Fetch Metadata (no Sec-Fetch-Site) posting from the app's own
    // public origin. The front door addresses the gateway by its internal host and names
    // the public one in X-Forwarded-Host; the guard prefers that header (see its unit
    // test), but today the identity stage has already deleted every X-Forwarded-* header
    // when the guard runs (src/http/create-app.ts: identify() before crossSiteGuard()),
    // so the guard compares with the internal Host and refuses the app's own page.
    const publicHost = "mlflow-1234567890.aws.databricksapps.com";
    const answer = await send(`${gw().url}/ajax-api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: {
        ...aliceHeaders(),
        "X-Forwarded-Host": publicHost,
        Origin: `https://${publicHost}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ name: `own-origin-${randomUUID()}` }),
    });
    assert.equal(answer.status, 200, `the app's own origin was refused: ${answer.body}`);
    // And a foreign origin with the same forwarded host is still refused.
    const foreign = await send(`${gw().url}/ajax-api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { ...aliceHeaders(), "X-Forwarded-Host": publicHost, Origin: "https://evil.example", "Content-Type": "application/json" },
      body: JSON.stringify({ name: `foreign-origin-${randomUUID()}` }),
    });
    assert.equal(foreign.status, 403);
    assert.equal((JSON.parse(foreign.body) as ErrorBody).gateway_error, "CROSS_SITE_REQUEST");
  });
});
