import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GatewayError } from "../../../src/errors.js";
import { type ForwardedClaims, isCredentialOrIdentityHeader, readForwardedClaims } from "../../../src/identity/forwarded-headers.js";
import { createIdentityResolver, samePrincipal } from "../../../src/identity/resolve-identity.js";
import type { TokenVerifier, VerifiedToken } from "../../../src/identity/token-verifier.js";

const ALICE_TOKEN: VerifiedToken = {
  keyGeneration: 1,
  subject: "alice@example.com",
  email: "alice@example.com",
  userName: undefined,
  scopes: ["all-apis"],
  expiresAt: Date.now() + 60_000,
};
const ALICE_HEADERS: ForwardedClaims = {
  user: "1234@567",
  email: "alice@example.com",
  preferredUsername: "alice",
  accessToken: undefined,
  bearerToken: undefined,
};

/** Stands in for the verifier (tested on its own) so these tests isolate the mode rules. */
const verifier = {
  verify: (token: string) =>
    token === "alice-token" ? Promise.resolve(ALICE_TOKEN) : Promise.reject(new GatewayError("UNAUTHENTICATED", "bad token")),
} as unknown as TokenVerifier;

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error;
  }
  assert.fail("accepted");
}

const none: ForwardedClaims = { user: undefined, email: undefined, preferredUsername: undefined, accessToken: undefined, bearerToken: undefined };

describe("identity modes", () => {
  it("headers: needs X-Forwarded-User, takes the headers as the identity", async () => {
    const resolver = createIdentityResolver("headers", verifier, "dev");
    const identity = await resolver.resolve(ALICE_HEADERS);
    assert.deepEqual(identity, {
      subject: "1234@567",
      email: "alice@example.com",
      userName: "alice",
      forwardedUser: "1234@567",
      verifiedBy: "headers",
      scopes: [],
    });
    const error = await refusal(resolver.resolve(none));
    assert.equal(error.status, 401);
    assert.equal(error.headers["WWW-Authenticate"], 'Bearer realm="mlflow-gateway"');
    assert.match((await refusal(resolver.resolve({ ...ALICE_HEADERS, user: undefined }))).message, /X-Forwarded-User is missing/);
  });

  it("headers: a forwarded token must verify and name the same principal", async () => {
    const resolver = createIdentityResolver("headers", verifier, "dev");
    assert.equal((await resolver.resolve({ ...ALICE_HEADERS, accessToken: "alice-token" })).verifiedBy, "token");
    await refusal(resolver.resolve({ ...ALICE_HEADERS, accessToken: "forged" }));
    const bob = { ...ALICE_HEADERS, email: "bob@example.com", preferredUsername: "bob", user: "999@567" };
    assert.match((await refusal(resolver.resolve({ ...bob, accessToken: "alice-token" }))).message, /different principals/);
  });

  it("token: requires a token even when headers are present", async () => {
    const resolver = createIdentityResolver("token", verifier, "dev");
    assert.match((await refusal(resolver.resolve(ALICE_HEADERS))).message, /access token is required/);
    const identity = await resolver.resolve({ ...none, bearerToken: "alice-token" });
    assert.equal(identity.subject, "alice@example.com");
    assert.equal(identity.verifiedBy, "token");
  });

  it("local: one fixed developer, whatever is sent", async () => {
    const resolver = createIdentityResolver("local", undefined, "dev@localhost");
    const identity = await resolver.resolve({ ...ALICE_HEADERS, accessToken: "forged" });
    assert.equal(identity.subject, "dev@localhost");
    assert.equal(identity.verifiedBy, "local");
  });
});

describe("samePrincipal", () => {
  it("matches the token's subject or email against any of the front door's names", () => {
    assert.equal(samePrincipal(ALICE_TOKEN, ALICE_HEADERS), true);
    assert.equal(samePrincipal({ ...ALICE_TOKEN, subject: "1234", email: undefined }, ALICE_HEADERS), true, "numeric id part of X-Forwarded-User");
    assert.equal(samePrincipal({ ...ALICE_TOKEN, email: "ALICE@example.com" }, ALICE_HEADERS), true, "case-insensitive");
    assert.equal(
      samePrincipal({ ...ALICE_TOKEN, subject: "alice", email: "mallory@example.com" }, ALICE_HEADERS),
      false,
      "a contradicting email wins",
    );
    assert.equal(samePrincipal({ ...ALICE_TOKEN, subject: "bob", email: undefined }, ALICE_HEADERS), false);
  });
});

describe("readForwardedClaims", () => {
  it("reads the front door's headers in any letter case and a bearer token", () => {
    const claims = readForwardedClaims([
      "x-FORWARDED-email",
      "a@b.c",
      "X-Forwarded-User",
      "1@2",
      "Authorization",
      "Bearer abc.def.ghi",
      "X-Forwarded-Access-Token",
      "tok",
    ]);
    assert.deepEqual(claims, { user: "1@2", email: "a@b.c", preferredUsername: undefined, accessToken: "tok", bearerToken: "abc.def.ghi" });
  });

  it("accepts identical repeats and refuses repeats that disagree", () => {
    assert.equal(readForwardedClaims(["X-Forwarded-Email", "a@b.c", "x-forwarded-email", "a@b.c"]).email, "a@b.c");
    assert.throws(
      () => readForwardedClaims(["X-Forwarded-Email", "a@b.c", "X-Forwarded-Email", "mallory@b.c"]),
      (e: GatewayError) => e.code === "HEADER_REJECTED" && /more than once/.test(e.message),
    );
  });

  it("refuses a 20 KB header value as a failed authentication", () => {
    assert.throws(
      () => readForwardedClaims(["X-Forwarded-Access-Token", "x".repeat(20_000)]),
      (e: GatewayError) => e.code === "UNAUTHENTICATED" && e.status === 401 && /error="invalid_request"/.test(e.headers["WWW-Authenticate"] ?? ""),
    );
  });

  it("marks every credential and identity header for removal before proxying", () => {
    for (const name of [
      "authorization",
      "cookie",
      "x-forwarded-access-token",
      "x-forwarded-email",
      "x-forwarded-host",
      "x-real-ip",
      "forwarded",
      "x-databricks-org-id",
    ]) {
      assert.equal(isCredentialOrIdentityHeader(name), true, name);
    }
    for (const name of ["content-type", "accept", "x-request-id", "user-agent"]) assert.equal(isCredentialOrIdentityHeader(name), false, name);
  });
});
