/**
 * Issue 4, who may not pass: a gateway in `token` mode (every caller must present a
 * workspace OAuth token) in front of the real `mlflow server`, tokens verified against
 * the Databricks workspace emulator's published keys. Every forged, stale or mismatched
 * credential gets a 401 with a Bearer challenge and MLflow's JSON error shape, and never
 * reaches the child: each refused request carries a unique marker in its query string,
 * which the child's own access log (uvicorn, relayed by the gateway) must not contain.
 */
import assert from "node:assert/strict";
import { createPublicKey, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type JWK, SignJWT } from "jose";
import type { WorkspaceEmulator } from "../emulator/index.js";
import type { GatewayProcess } from "../support/gateway-process.js";
import { startIdentityStack } from "../support/identity-stack.js";
import type { ErrorBody } from "../support/error-body.js";
import { readMetric } from "../support/metrics.js";

const ALICE = "alice@example.com";
const BOB = "bob@example.com";
const SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1";

/** The two ways a token reaches the gateway: a program's bearer, or the front door's forwarded token. */
const CARRIERS = {
  bearer: (token: string) => ({ authorization: `Bearer ${token}` }),
  forwarded: (token: string) => ({ "x-forwarded-access-token": token }),
} as const;

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("identity (token mode): forged, stale and mismatched credentials get 401 and never reach MLflow", () => {
  let emulator: WorkspaceEmulator | undefined;
  let gateway: GatewayProcess | undefined;
  let aliceToken: string;

  before(async () => {
    // The gateway only contacts the workspace when the first token arrives, so both
    // (each with its own `mlflow server`) start side by side on a 2-core machine.
    ({ emulator, gateway } = await startIdentityStack("token", [ALICE, BOB]));
    aliceToken = await emulator.mintUserToken({ userName: ALICE });
  });

  after(async () => {
    await gateway?.stop();
    await emulator?.stop();
  });

  const emu = () => emulator as WorkspaceEmulator;
  const gw = () => gateway as GatewayProcess;

  /** A marker for one request's query string, so the child's access log can be searched for it. */
  const newProbe = () => `probe-${randomUUID()}`;
  const childLines = () => gw().logs.filter((line) => line.source === "mlflow" && line["stream"] === "stdout");

  async function search(probe: string, headers: Record<string, string>): Promise<Response> {
    return await fetch(`${gw().url}${SEARCH}&probe=${probe}`, { headers });
  }

  /** A valid request's marker shows up in the child's access log; waits for it. */
  async function reachesChild(probe: string): Promise<void> {
    await gw().waitForLog((line) => line.source === "mlflow" && String(line.message).includes(probe), 10_000);
  }

  /**
   * The refused request's marker is absent from the child's access log. A valid request is
   * sent after it and awaited in that log first: the child (one worker) logs in order, so
   * anything that had reached it would be there by then.
   */
  async function assertNeverReachedChild(...probes: string[]): Promise<void> {
    const control = newProbe();
    const response = await search(control, CARRIERS.bearer(aliceToken));
    assert.equal(response.status, 200, "the control request must pass");
    await response.arrayBuffer();
    await reachesChild(control);
    for (const probe of probes) {
      const leaked = childLines().filter((line) => String(line.message).includes(probe));
      assert.deepEqual(leaked, [], `a refused request (${probe}) reached the mlflow child`);
    }
  }

  /** 401, Bearer challenge, MLflow's error shape with the gateway's code, the reason, no echo of the credential. */
  async function assertUnauthenticated(response: Response, reason: RegExp, options: { error?: string; secret?: string } = {}): Promise<ErrorBody> {
    assert.equal(response.status, 401);
    const challenge = response.headers.get("www-authenticate") ?? "";
    assert.ok(challenge.startsWith('Bearer realm="mlflow-gateway"'), `WWW-Authenticate was: ${challenge}`);
    if (options.error !== undefined) assert.match(challenge, new RegExp(`error="${options.error}"`));
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    const text = await response.text();
    const body = JSON.parse(text) as ErrorBody;
    assert.deepEqual(Object.keys(body).sort(), ["error_code", "gateway_error", "message", "request_id"]);
    assert.equal(body.error_code, "UNAUTHENTICATED");
    assert.equal(body.gateway_error, "UNAUTHENTICATED");
    assert.equal(body.request_id, response.headers.get("x-request-id"));
    assert.match(body.request_id, /^[0-9a-f-]{36}$/);
    assert.match(body.message, reason);
    if (options.secret !== undefined) {
      assert.ok(!text.includes(options.secret) && !challenge.includes(options.secret), "the credential must not be echoed");
    }
    return body;
  }

  /** Sends a bad token both ways (bearer and forwarded); both must be refused for the same reason. */
  async function assertTokenRefused(token: string, reason: RegExp, extraHeaders: Record<string, string> = {}): Promise<void> {
    const probes: string[] = [];
    for (const [carrier, headersFor] of Object.entries(CARRIERS)) {
      const probe = newProbe();
      probes.push(probe);
      const response = await search(probe, { ...headersFor(token), ...extraHeaders });
      await assertUnauthenticated(response, reason, { error: "invalid_token", secret: token }).catch((error: unknown) => {
        throw new Error(`carrier ${carrier}: ${String(error)}`, { cause: error });
      });
    }
    await assertNeverReachedChild(...probes);
  }

  /** Claims for a token that would be perfectly valid if this workspace had signed it. */
  function aliceClaims(): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return { iss: emu().issuer, sub: ALICE, aud: emu().workspaceId, iat: now, nbf: now, exp: now + 3600, scope: "all-apis" };
  }

  async function publishedKey(): Promise<JWK> {
    const jwks = (await (await fetch(`${emu().url}/oidc/v1/keys`)).json()) as { keys: JWK[] };
    const key = jwks.keys.find((k) => k.kid === emu().currentKeyId());
    assert.ok(key, "the emulator publishes its current key");
    return key;
  }

  it("lets a valid token through to MLflow, and its marker appears in the child's access log (so the check below can fail)", async () => {
    for (const headersFor of Object.values(CARRIERS)) {
      const probe = newProbe();
      const response = await search(probe, headersFor(aliceToken));
      assert.equal(response.status, 200);
      const body = (await response.json()) as { experiments: Array<{ name: string }> };
      assert.equal(body.experiments[0]?.name, "Default");
      await reachesChild(probe);
    }
  });

  it("refuses a request with no identity at all", async () => {
    const probe = newProbe();
    const body = await assertUnauthenticated(await search(probe, {}), /Authentication required: an access token is required/);
    assert.match(body.message, /Databricks OAuth token/);
    await assertNeverReachedChild(probe);
  });

  it("refuses before routing: an unknown path without identity is a 401, not a 404", async () => {
    const probe = newProbe();
    const response = await fetch(`${gw().url}/api/2.0/mlflow/no-such-route?probe=${probe}`);
    await assertUnauthenticated(response, /an access token is required/);
    const ui = await fetch(`${gw().url}/?probe=${probe}`, { headers: { accept: "text/html" } });
    assert.equal(ui.status, 401);
    assert.ok((ui.headers.get("www-authenticate") ?? "").startsWith('Bearer realm="mlflow-gateway"'));
    assert.match(ui.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await ui.text(), /<h1>Request refused<\/h1>.*an access token is required/s);
    await assertNeverReachedChild(probe);
  });

  it("refuses identity headers without a token (token mode trusts no header on its own)", async () => {
    const alice = emu().users.find((u) => u.userName === ALICE)!;
    const probe = newProbe();
    const response = await search(probe, {
      "x-forwarded-user": `${alice.id}@${emu().workspaceId}`,
      "x-forwarded-email": ALICE,
      "x-forwarded-preferred-username": "alice",
    });
    await assertUnauthenticated(response, /an access token is required/);
    await assertNeverReachedChild(probe);
  });

  it('refuses an unsigned token (alg "none") with otherwise valid claims', async () => {
    const header = { alg: "none", typ: "JWT", kid: emu().currentKeyId() };
    const token = `${base64url(header)}.${base64url(aliceClaims())}.`;
    await assertTokenRefused(token, /signing algorithm is not allowed/);
    // Some libraries accept "None" or "NONE"; so must not the gateway.
    const upper = `${base64url({ ...header, alg: "NONE" })}.${base64url(aliceClaims())}.`;
    await assertTokenRefused(upper, /signing algorithm is not allowed|malformed/);
  });

  it("refuses an HS256 token whose HMAC secret is the workspace's public key as JWK JSON (algorithm confusion)", async () => {
    const jwk = await publishedKey();
    const secret = new TextEncoder().encode(JSON.stringify(jwk));
    const token = await new SignJWT(aliceClaims()).setProtectedHeader({ alg: "HS256", typ: "JWT", kid: jwk.kid! }).sign(secret);
    await assertTokenRefused(token, /signing algorithm is not allowed/);
  });

  it("refuses an HS256 token whose HMAC secret is the workspace's public key as PEM (algorithm confusion)", async () => {
    const jwk = await publishedKey();
    const pem = createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    for (const secret of [pem, pem.trim()]) {
      const token = await new SignJWT(aliceClaims())
        .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: jwk.kid! })
        .sign(new TextEncoder().encode(secret));
      await assertTokenRefused(token, /signing algorithm is not allowed/);
    }
  });

  it("refuses an expired token", async () => {
    await assertTokenRefused(await emu().mintUserToken({ userName: ALICE, expired: true }), /the token has expired/);
  });

  it("refuses a token that is not valid yet", async () => {
    await assertTokenRefused(await emu().mintUserToken({ userName: ALICE, notYetValid: true }), /the token is not valid yet/);
  });

  it("refuses a token from another issuer", async () => {
    await assertTokenRefused(await emu().mintUserToken({ userName: ALICE, wrongIssuer: true }), /issued by another issuer/);
  });

  it("refuses a token signed with a key the workspace never published (unknown kid)", async () => {
    await assertTokenRefused(await emu().mintUserToken({ userName: ALICE, unknownKey: true }), /signed with an unknown key/);
  });

  it("refuses alice's valid token sent with bob's identity headers", async () => {
    const bob = emu().users.find((u) => u.userName === BOB)!;
    const bobHeaders = { "x-forwarded-user": `${bob.id}@${emu().workspaceId}`, "x-forwarded-email": BOB, "x-forwarded-preferred-username": "bob" };
    await assertTokenRefused(aliceToken, /the access token and the identity headers name different principals/, bobHeaders);
    // Each of bob's headers alone is a contradiction too.
    for (const [name, value] of Object.entries(bobHeaders)) {
      const probe = newProbe();
      const response = await search(probe, { ...CARRIERS.forwarded(aliceToken), [name]: value });
      await assertUnauthenticated(response, /name different principals/, { error: "invalid_token", secret: aliceToken });
      await assertNeverReachedChild(probe);
    }
  });

  it("refuses malformed, truncated and tampered tokens", async () => {
    const [header, payload, signature] = aliceToken.split(".") as [string, string, string];
    const tamperedPayload = base64url({ ...(JSON.parse(Buffer.from(payload, "base64url").toString()) as object), sub: BOB });
    const cases: Array<[string, string, RegExp]> = [
      ["not a JWT", "not-a-token", /not a well-formed JWT/],
      ["two segments", `${header}.${payload}`, /not a well-formed JWT/],
      ["signature truncated", `${header}.${payload}.${signature.slice(0, -12)}`, /signature is invalid|malformed/],
      ["payload truncated", `${header}.${payload.slice(0, -7)}.${signature}`, /malformed|signature is invalid/],
      ["header is not JSON", `${Buffer.from("{not json").toString("base64url")}.${payload}.${signature}`, /malformed/],
      ["invalid characters", `${header}.${payload}.${signature}!`, /not a well-formed JWT/],
      ["payload rewritten to bob, alice's signature kept", `${header}.${tamperedPayload}.${signature}`, /signature is invalid/],
    ];
    for (const [name, token, reason] of cases) {
      await assertTokenRefused(token, reason).catch((error: unknown) => {
        throw new Error(`${name}: ${String(error)}`, { cause: error });
      });
    }
  });

  it("refuses a 20 KB garbage X-Forwarded-Access-Token with a 401 (not a bare 431) and keeps serving", async () => {
    const garbage = "Zm9v.".repeat(4_000);
    assert.equal(garbage.length, 20_000);
    const probe = newProbe();
    const response = await search(probe, { "x-forwarded-access-token": garbage });
    const body = await assertUnauthenticated(response, /x-forwarded-access-token is longer than 8192 characters/, { error: "invalid_request" });
    assert.ok(body.message.length < 300, "the message does not carry the value");
    await assertNeverReachedChild(probe);
  });

  it("refuses a mixed flood of invalid tokens while a valid caller is served as usual, with no more than one key refetch", async () => {
    const fetchesBefore = await readMetric(gw().url, "mlflow_gateway_identity_key_fetches_total");
    const [header, payload, signature] = aliceToken.split(".") as [string, string, string];
    const invalid = [
      "not-a-token",
      `${header}.${payload}.${signature.slice(0, -12)}`,
      `${header}.${base64url({ ...aliceClaims(), sub: BOB })}.${signature}`,
      `${base64url({ alg: "none", typ: "JWT" })}.${base64url(aliceClaims())}.`,
      await emu().mintUserToken({ userName: ALICE, expired: true }),
      await emu().mintUserToken({ userName: ALICE, unknownKey: true }),
      await emu().mintUserToken({ userName: ALICE, unknownKey: true }),
    ];
    const timedValid = async (): Promise<number> => {
      const begin = performance.now();
      const response = await fetch(`${gw().url}${SEARCH}`, { headers: { authorization: `Bearer ${aliceToken}` } });
      assert.equal(response.status, 200);
      await response.arrayBuffer();
      return performance.now() - begin;
    };
    const usual: number[] = [];
    for (let i = 0; i < 10; i += 1) usual.push(await timedValid());
    let refused = 0;
    let flooding = true;
    // 20 attackers, each sending invalid tokens back to back, cycling through the kinds.
    const attackers = Array.from({ length: 20 }, async (_, attacker) => {
      for (let i = attacker; flooding; i += 20) {
        const token = invalid[i % invalid.length] ?? "";
        const response = await fetch(`${gw().url}${SEARCH}`, { headers: { authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        assert.equal(response.status, 401);
        refused += 1;
      }
    });
    const during: number[] = [];
    for (const deadline = Date.now() + 2_000; Date.now() < deadline;) during.push(await timedValid());
    flooding = false;
    await Promise.all(attackers);
    const worst = Math.max(...during);
    assert.ok(refused >= 200, `only ${refused} invalid tokens were sent during the measurement`);
    // Loose on purpose (a shared 2-core machine): the point is "served as usual", not a benchmark.
    assert.ok(worst < Math.max(1_000, Math.max(...usual) * 5), `a valid call took ${worst.toFixed(0)} ms during the flood`);
    const fetched = (await readMetric(gw().url, "mlflow_gateway_identity_key_fetches_total")) - fetchesBefore;
    assert.ok(fetched <= 1, `${fetched} key fetches during a flood of ${refused} invalid tokens`);
  });
});
