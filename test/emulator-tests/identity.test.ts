// OAuth/OIDC discovery, the client-credentials token exchange, JWKS and key
// rotation, bearer checks, PATs, SCIM and deny rules of the workspace
// emulator, exercised over plain HTTP the way a gateway would.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";

let emu: WorkspaceEmulator;
const PAT = "dapi0123456789abcdef0123456789abcdef";

async function getJson(path: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${emu.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function tokenRequest(form: Record<string, string>, basic?: [string, string]): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString("base64")}`;
  return fetch(`${emu.url}/oidc/v1/token`, { method: "POST", headers, body: new URLSearchParams(form) });
}

before(async () => {
  emu = await startWorkspaceEmulator({
    users: [
      { userName: "alice@example.com", displayName: "Alice Liddell", groups: ["data-scientists", "users"] },
      { userName: "bob@example.com", displayName: "Bob Builder", groups: ["users"] },
    ],
    personalAccessTokens: [{ token: PAT, principal: "bob@example.com" }],
    workspaceId: "1234567890123456",
  });
});

after(async () => {
  await emu?.stop();
});

describe("OAuth discovery and token exchange", () => {
  it("publishes host metadata and the authorization server document", async () => {
    const meta = await getJson("/.well-known/databricks-config");
    assert.deepEqual(meta.body, { oidc_endpoint: `${emu.url}/oidc`, workspace_id: "1234567890123456" });
    const doc = await getJson("/oidc/.well-known/oauth-authorization-server");
    assert.equal(doc.body.issuer, emu.issuer);
    assert.notEqual(emu.issuer, `${emu.url}/oidc`, "the workspace names itself by another host than the one clients use");
    assert.equal(doc.body.token_endpoint, `${emu.issuer}/v1/token`);
    assert.equal(doc.body.jwks_uri, `${emu.issuer}/v1/keys`);
    assert.ok((doc.body.grant_types_supported as string[]).includes("client_credentials"));
  });

  it("issues an RS256 service-principal token that verifies against the JWKS", async () => {
    const sp = emu.servicePrincipal;
    const res = await tokenRequest({ grant_type: "client_credentials", scope: "all-apis" }, [sp.applicationId, sp.secret]);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 3600);
    assert.equal(body.scope, "all-apis");
    const token = String(body.access_token);
    assert.equal(decodeProtectedHeader(token).kid, emu.currentKeyId());
    const jwks = createRemoteJWKSet(new URL(`${emu.url}/oidc/v1/keys`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: emu.issuer,
      audience: emu.workspaceId,
    });
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(payload.sub, sp.applicationId);
    assert.equal(payload.client_id, sp.applicationId);
    assert.equal(payload.scope, "all-apis");
    assert.equal(typeof payload.jti, "string");
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 3600);
    assert.ok((payload.nbf ?? Infinity) <= Date.now() / 1000);
  });

  it("accepts client credentials in the form body too", async () => {
    const sp = emu.servicePrincipal;
    const res = await tokenRequest({ grant_type: "client_credentials", client_id: sp.applicationId, client_secret: sp.secret });
    assert.equal(res.status, 200);
    const me = await getJson("/api/2.0/preview/scim/v2/Me", String(((await res.json()) as Record<string, unknown>).access_token));
    assert.equal(me.body.userName, sp.applicationId);
  });

  it("answers a wrong secret with 401 invalid_client", async () => {
    const res = await tokenRequest({ grant_type: "client_credentials", scope: "all-apis" }, [emu.servicePrincipal.applicationId, "dose-wrong"]);
    assert.equal(res.status, 401);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(await res.json(), { error: "invalid_client", error_description: "Client authentication failed" });
  });

  it("rejects other grant types and unknown scopes", async () => {
    const sp = emu.servicePrincipal;
    const grant = await tokenRequest({ grant_type: "password" }, [sp.applicationId, sp.secret]);
    assert.equal(grant.status, 400);
    assert.equal(((await grant.json()) as Record<string, unknown>).error, "unsupported_grant_type");
    const scope = await tokenRequest({ grant_type: "client_credentials", scope: "all-apis nope" }, [sp.applicationId, sp.secret]);
    assert.equal(scope.status, 400);
    assert.equal(((await scope.json()) as Record<string, unknown>).error, "invalid_scope");
  });
});

describe("bearer checks on /api", () => {
  it("401s without a token, with Databricks' error body", async () => {
    const res = await getJson("/api/2.0/mlflow/experiments/search?max_results=1");
    assert.equal(res.status, 401);
    assert.equal(res.body.error_code, "UNAUTHENTICATED");
    assert.match(String(res.body.message), /Credential was not sent/);
  });

  /** Status, content type and body of a refused call, whatever its shape. */
  async function refusal(token: string): Promise<{ status: number; type: string; text: string; reason: string | null }> {
    const res = await fetch(`${emu.url}/api/2.0/preview/scim/v2/Me`, { headers: { authorization: `Bearer ${token}` } });
    return {
      status: res.status,
      type: res.headers.get("content-type") ?? "",
      text: await res.text(),
      reason: res.headers.get("x-databricks-reason-phrase"),
    };
  }

  for (const [label, opts, message] of [
    ["expired", { expired: true }, /expired/i],
    ["not yet valid", { notYetValid: true }, /nbf/],
    ["wrong issuer", { wrongIssuer: true }, /iss/],
    ["unknown key", { unknownKey: true }, /Invalid access token/],
  ] as const) {
    it(`refuses a ${label} token in each shape workspaces use: 403 HTML (default), 403 JSON with an integer code, 401 JSON`, async () => {
      const token = await emu.mintUserToken({ userName: "alice@example.com", ...opts });
      const html = await refusal(token);
      assert.equal(html.status, 403);
      assert.match(html.type, /text\/html/);
      assert.match(html.text, /<title>Error 403 Invalid access token\.<\/title>/);
      emu.faults.set({ tokenRefusal: "json-403" });
      const json403 = await refusal(token);
      assert.equal(json403.status, 403);
      assert.deepEqual(JSON.parse(json403.text), { error_code: 403, message: "Invalid access token." });
      assert.equal(json403.reason, "Invalid access token.");
      emu.faults.set({ tokenRefusal: "json-401" });
      const json401 = await refusal(token);
      assert.equal(json401.status, 401);
      const body = JSON.parse(json401.text) as Record<string, unknown>;
      assert.equal(body.error_code, "UNAUTHENTICATED");
      assert.match(String(body.message), message);
      emu.faults.clear();
    });
  }

  it("accepts a configured PAT and an unknown dapi token is refused", async () => {
    const me = await getJson("/api/2.0/preview/scim/v2/Me", PAT);
    assert.equal(me.status, 200);
    assert.equal(me.body.userName, "bob@example.com");
    const bad = await refusal("dapi00000000000000000000000000000000");
    assert.equal(bad.status, 403);
    assert.match(bad.text, /Invalid access token/);
  });
});

describe("SCIM", () => {
  it("Me returns the calling user with groups", async () => {
    const token = await emu.mintUserToken({ userName: "alice@example.com" });
    const me = await getJson("/api/2.0/preview/scim/v2/Me", token);
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.schemas, ["urn:ietf:params:scim:schemas:core:2.0:User"]);
    assert.equal(me.body.userName, "alice@example.com");
    assert.equal(me.body.displayName, "Alice Liddell");
    assert.equal(me.body.id, emu.users[0]?.id);
    const groups = (me.body.groups as { display: string }[]).map((g) => g.display).sort();
    assert.deepEqual(groups, ["data-scientists", "users"]);
  });

  it("filters Users by userName and reads Users/{id} and Groups", async () => {
    const token = await emu.mintUserToken({ userName: "alice@example.com" });
    const list = await getJson(`/api/2.0/preview/scim/v2/Users?filter=${encodeURIComponent('userName eq "bob@example.com"')}`, token);
    assert.equal(list.body.totalResults, 1);
    const bob = (list.body.Resources as Record<string, unknown>[])[0];
    assert.equal(bob?.userName, "bob@example.com");
    const byId = await getJson(`/api/2.0/preview/scim/v2/Users/${String(bob?.id)}`, token);
    assert.equal(byId.body.displayName, "Bob Builder");
    const missing = await getJson("/api/2.0/preview/scim/v2/Users/42", token);
    assert.equal(missing.status, 404);
    const groups = await getJson(`/api/2.0/preview/scim/v2/Groups?filter=${encodeURIComponent("displayName eq 'users'")}`, token);
    const users = (groups.body.Resources as Record<string, unknown>[])[0];
    assert.equal(users?.displayName, "users");
    const members = (users?.members as { display: string }[]).map((m) => m.display).sort();
    assert.deepEqual(members, ["Alice Liddell", "Bob Builder"]);
    const group = await getJson(`/api/2.0/preview/scim/v2/Groups/${String(users?.id)}`, token);
    assert.equal(group.body.displayName, "users");
  });
});

describe("deny rules and the call record", () => {
  it("403s a denied principal and records who called with which credential", async () => {
    emu.clearCalls();
    emu.addDenyRule({ principal: "bob@example.com", pathPrefix: "/api/2.0/preview/scim/v2/Groups" });
    const denied = await getJson("/api/2.0/preview/scim/v2/Groups", PAT);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error_code, "PERMISSION_DENIED");
    assert.match(String(denied.body.message), /bob@example.com/);
    const spToken = await emu.mintServicePrincipalToken();
    assert.equal((await getJson("/api/2.0/preview/scim/v2/Groups", spToken)).status, 200);
    emu.clearDenyRules();

    const groupCalls = emu.calls.filter((c) => c.path === "/api/2.0/preview/scim/v2/Groups");
    assert.deepEqual(
      groupCalls.map((c) => [c.principalName, c.principalKind, c.credential, c.status]),
      [
        ["bob@example.com", "user", "pat", 403],
        [emu.servicePrincipal.applicationId, "service_principal", "oauth", 200],
      ],
    );
    const serialized = JSON.stringify(emu.calls);
    assert.ok(!serialized.includes(PAT) && !serialized.includes(spToken), "raw tokens must never be recorded");
  });
});

describe("key rotation", () => {
  it("keeps the previous key during the grace period", async () => {
    const oldToken = await emu.mintServicePrincipalToken();
    const oldKid = emu.currentKeyId();
    const newKid = await emu.rotateKeys({ graceSeconds: 60 });
    assert.notEqual(newKid, oldKid);
    const jwks = (await getJson("/oidc/v1/keys")).body as unknown as JSONWebKeySet;
    assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
    await jwtVerify(oldToken, createLocalJWKSet(jwks));
    assert.equal((await getJson("/api/2.0/preview/scim/v2/Me", oldToken)).status, 200);
    assert.equal(decodeProtectedHeader(await emu.mintServicePrincipalToken()).kid, newKid);
  });

  it("drops the previous key when asked, so its tokens stop verifying", async () => {
    const oldToken = await emu.mintServicePrincipalToken();
    const newKid = await emu.rotateKeys({ dropPrevious: true });
    const jwks = (await getJson("/oidc/v1/keys")).body as unknown as JSONWebKeySet;
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      [newKid],
    );
    assert.equal(jwks.keys[0]?.alg, "RS256");
    await assert.rejects(jwtVerify(oldToken, createLocalJWKSet(jwks)), { code: "ERR_JWKS_NO_MATCHING_KEY" });
    const res = await fetch(`${emu.url}/api/2.0/preview/scim/v2/Me`, { headers: { authorization: `Bearer ${oldToken}` } });
    assert.equal(res.status, 403, "refused as an invalid access token");
    const fresh = await emu.mintServicePrincipalToken();
    assert.equal((await getJson("/api/2.0/preview/scim/v2/Me", fresh)).status, 200);
  });
});
