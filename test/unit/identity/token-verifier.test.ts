import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { GatewayError } from "../../../src/errors.js";
import { bearerChallenge, TokenVerifier } from "../../../src/identity/token-verifier.js";
import { WorkspaceKeys } from "../../../src/identity/workspace-keys.js";
import { type KeyServer, makeKey, type SigningKey, signToken, startKeyServer } from "../../support/test-keys.js";

const USER = { sub: "alice@example.com", email: "alice@example.com", scope: "all-apis offline_access" };

async function rejection(verifier: TokenVerifier, token: string): Promise<GatewayError> {
  try {
    await verifier.verify(token);
  } catch (error) {
    assert.ok(error instanceof GatewayError, `GatewayError expected, got ${String(error)}`);
    return error;
  }
  assert.fail("token was accepted");
}

function b64url(value: object | string): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}

describe("TokenVerifier", () => {
  let server: KeyServer;
  let key: SigningKey;
  let issuer: string;
  let keys: WorkspaceKeys;
  let verifier: TokenVerifier;
  let now = Date.now();

  before(async () => {
    key = await makeKey("key-1");
    server = await startKeyServer([key]);
    issuer = `${server.host}/oidc`;
    keys = new WorkspaceKeys({ host: server.host, fetchTimeoutMs: 2_000, cooldownMs: 30_000, maxAgeMs: 600_000, now: () => now });
    verifier = new TokenVerifier({ keys, requiredScopes: ["all-apis"], now: () => now });
  });
  after(async () => {
    await server.close();
  });

  it("accepts a token signed with the workspace key and caches it", async (t) => {
    const token = await signToken(key, USER, { issuer });
    const verified = await verifier.verify(token);
    assert.equal(verified.subject, "alice@example.com");
    assert.deepEqual(verified.scopes, ["all-apis", "offline_access"]);
    assert.equal(server.requests.discovery, 1);
    assert.equal(server.requests.jwks, 1);

    const rounds = 20_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i += 1) await verifier.verify(token);
    const microseconds = Number(process.hrtime.bigint() - started) / 1e3 / rounds;
    t.diagnostic(`cached verification: ${microseconds.toFixed(2)} µs per call over ${rounds} calls`);
    console.log(`# cached token verification costs ${microseconds.toFixed(2)} µs (not ms) per request`);
    assert.equal(server.requests.jwks, 1, "the cache answered, no key fetch");
  });

  it("refuses alg none", async () => {
    const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...USER, iss: issuer, exp: Math.floor(now / 1000) + 600 })}.`;
    const error = await rejection(verifier, token);
    assert.equal(error.status, 401);
    assert.match(error.headers["WWW-Authenticate"] ?? "", /^Bearer realm="mlflow-gateway", error="invalid_token"/);
  });

  it("refuses HS256 signed with the public key as the secret (algorithm confusion)", async () => {
    const header = b64url({ alg: "HS256", typ: "JWT", kid: key.kid });
    const payload = b64url({ ...USER, iss: issuer, exp: Math.floor(now / 1000) + 600 });
    const secret = JSON.stringify(key.publicJwk);
    const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
    const error = await rejection(verifier, `${header}.${payload}.${signature}`);
    assert.match(error.message, /signing algorithm is not allowed/);
  });

  it("refuses an expired token and a not-yet-valid one", async () => {
    const expired = await signToken(key, USER, { issuer, expiresIn: Math.floor(now / 1000) - 120 });
    assert.match((await rejection(verifier, expired)).message, /has expired/);
    const future = await signToken(key, USER, { issuer, notBefore: Math.floor(now / 1000) + 600, expiresIn: Math.floor(now / 1000) + 1200 });
    assert.match((await rejection(verifier, future)).message, /not valid yet/);
  });

  it("tolerates a small clock skew", async () => {
    const justExpired = await signToken(key, USER, { issuer, expiresIn: Math.floor(now / 1000) - 10 });
    assert.equal((await verifier.verify(justExpired)).subject, USER.sub);
  });

  it("refuses a token from another issuer", async () => {
    const token = await signToken(key, USER, { issuer: "https://evil.example/oidc" });
    assert.match((await rejection(verifier, token)).message, /another issuer/);
  });

  it("refuses a token without the required scope, with insufficient_scope", async () => {
    const token = await signToken(key, { ...USER, scope: "sql" }, { issuer });
    const error = await rejection(verifier, token);
    assert.match(error.headers["WWW-Authenticate"] ?? "", /error="insufficient_scope"/);
  });

  it("refuses malformed, truncated and oversized tokens before verifying anything", async () => {
    const good = await signToken(key, USER, { issuer });
    for (const bad of [
      "not-a-jwt",
      good.slice(0, good.length - 20),
      good.split(".").slice(0, 2).join("."),
      "x".repeat(20_000),
      `${good}\r\nX-Evil: 1`,
    ]) {
      const error = await rejection(verifier, bad);
      assert.equal(error.code, "UNAUTHENTICATED");
    }
  });

  it("refetches once for an unknown kid, and a flood of them causes no refetch storm", async () => {
    const stranger = await makeKey("never-published");
    const fetchesBefore = server.requests.jwks;
    now += 31_000; // past the cooldown since the first fetch
    for (let i = 0; i < 50; i += 1) {
      const error = await rejection(verifier, await signToken(stranger, { ...USER, jti: String(i) }, { issuer }));
      assert.match(error.message, /unknown key/);
    }
    assert.equal(server.requests.jwks - fetchesBefore, 1, "one refetch for fifty unknown-kid tokens");
  });

  it("survives a key rotation: the new key verifies after one refetch", async () => {
    const beforeRotation = await signToken(key, { ...USER, jti: "before-rotation" }, { issuer });
    assert.equal((await verifier.verify(beforeRotation)).subject, USER.sub, "verified and cached under the old key");
    const rotated = await makeKey("key-2");
    server.published = [rotated];
    now += 31_000;
    const fetchesBefore = server.requests.jwks;
    const token = await signToken(rotated, USER, { issuer });
    assert.equal((await verifier.verify(token)).subject, USER.sub);
    assert.equal(server.requests.jwks - fetchesBefore, 1);
    // The old key was dropped: its cached tokens are checked again, and refused.
    assert.match((await rejection(verifier, beforeRotation)).message, /unknown key/);
    key = rotated;
  });

  it("keeps using cached keys while the key endpoint is down", async () => {
    server.down = true;
    now += 700_000; // past maxAge: a refresh is attempted and fails
    const token = await signToken(key, { ...USER, jti: "while-down" }, { issuer });
    assert.equal((await verifier.verify(token)).subject, USER.sub);
    server.down = false;
  });
});

describe("WorkspaceKeys with nothing cached", () => {
  it("takes the issuer from the discovery document: a workspace behind another host name names its own", async () => {
    const key = await makeKey("alias-key");
    const server = await startKeyServer([key]);
    // Reached as 127.0.0.1, the workspace's discovery document names its canonical host.
    server.issuer = "https://adb-1234567890123456.7.azuredatabricks.net/oidc";
    const keys = new WorkspaceKeys({ host: server.host, fetchTimeoutMs: 1_000, cooldownMs: 30_000, maxAgeMs: 600_000 });
    const verifier = new TokenVerifier({ keys, requiredScopes: [] });
    const verified = await verifier.verify(await signToken(key, USER, { issuer: server.issuer }));
    assert.equal(verified.subject, USER.sub);
    const error = await rejection(verifier, await signToken(key, { ...USER, jti: "host-issuer" }, { issuer: `${server.host}/oidc` }));
    assert.match(error.message, /another issuer/);
    await server.close();
  });

  it("fails closed with 503 when the key set cannot be fetched", async () => {
    const key = await makeKey("k");
    const server = await startKeyServer([key]);
    server.down = true;
    const keys = new WorkspaceKeys({ host: server.host, fetchTimeoutMs: 1_000, cooldownMs: 30_000, maxAgeMs: 600_000 });
    const verifier = new TokenVerifier({ keys, requiredScopes: [] });
    const token = await signToken(key, USER, { issuer: `${server.host}/oidc` });
    const error = await rejection(verifier, token);
    assert.equal(error.code, "IDENTITY_UNAVAILABLE");
    assert.equal(error.status, 503);
    assert.equal(keys.loaded, false);
    await server.close();
  });
});

describe("bearerChallenge", () => {
  it("quotes safely (RFC 6750): no quotes, backslashes or control characters in values", () => {
    assert.equal(bearerChallenge(), 'Bearer realm="mlflow-gateway"');
    assert.equal(bearerChallenge("invalid_token", 'bad "x"\\\n'), 'Bearer realm="mlflow-gateway", error="invalid_token", error_description="bad x"');
  });
});
