// The workspace's OAuth / OIDC surface: host metadata, the authorization
// server discovery document, the client-credentials token endpoint and the
// JWKS. The Databricks SDK (used by MLflow) walks exactly this chain for
// OAuth M2M: /.well-known/databricks-config -> oidc_endpoint ->
// /.well-known/oauth-authorization-server -> token_endpoint.

import { randomUUID } from "node:crypto";
import express, { type Request, type Response, type Router } from "express";
import type { JWTPayload } from "jose";
import { type CallerLocals, type EmulatorContext, audienceOf, issuerOf } from "./context.js";
import type { Principal } from "./principals.js";
import type { TokenMintOptions } from "./types.js";

const SUPPORTED_SCOPES = ["all-apis", "sql", "offline_access", "openid", "profile", "email"];

/** Builds and signs an access token for a principal. */
export async function mintToken(ctx: EmulatorContext, principal: Principal, clientId: string, options: TokenMintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const ttl = options.expiresInSeconds ?? ctx.tokenTtlSeconds;
  let iat = now;
  let nbf = now;
  let exp = now + ttl;
  if (options.expired) {
    // Issued two TTLs ago so that exp is clearly past, beyond any clock skew allowance.
    iat = now - 2 * ttl - 600;
    nbf = iat;
    exp = now - 600;
  }
  if (options.notYetValid) {
    iat = now;
    nbf = now + 3600;
    exp = nbf + ttl;
  }
  const claims: JWTPayload = {
    iss: options.wrongIssuer ? "https://accounts.example.invalid/oidc" : issuerOf(ctx),
    sub: principal.name,
    aud: audienceOf(ctx),
    iat,
    nbf,
    exp,
    jti: randomUUID(),
    scope: options.scope ?? "all-apis",
    client_id: clientId,
    ...options.claims,
  };
  return ctx.keys.sign(claims, { unknownKey: options.unknownKey ?? false });
}

function discoveryDocument(ctx: EmulatorContext): Record<string, unknown> {
  const issuer = issuerOf(ctx);
  return {
    issuer,
    authorization_endpoint: `${issuer}/v1/authorize`,
    token_endpoint: `${issuer}/v1/token`,
    jwks_uri: `${issuer}/v1/keys`,
    scopes_supported: SUPPORTED_SCOPES,
    response_types_supported: ["code", "id_token"],
    response_modes_supported: ["query", "fragment", "form_post"],
    grant_types_supported: ["client_credentials", "authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    claims_supported: ["iss", "sub", "aud", "iat", "exp", "jti", "name", "email"],
    request_uri_parameter_supported: false,
  };
}

/** OAuth errors use RFC 6749's shape, not the REST API's error_code shape. */
function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).setHeader("Cache-Control", "no-store").json({ error, error_description: description });
}

/** Client id and secret from HTTP Basic auth, else from the form body. */
function clientCredentials(req: Request): { id: string; secret: string } | undefined {
  const header = req.headers.authorization;
  if (header?.toLowerCase().startsWith("basic ")) {
    const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    // RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " ")),
    };
  }
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (typeof body.client_id === "string" && typeof body.client_secret === "string") {
    return { id: body.client_id, secret: body.client_secret };
  }
  return undefined;
}

async function tokenEndpoint(ctx: EmulatorContext, req: Request, res: Response): Promise<void> {
  if (ctx.faults.tokenEndpointDown()) {
    oauthError(res, 503, "temporarily_unavailable", `The authorization server is temporarily unavailable.${ctx.faults.echoOf(req)}`);
    return;
  }
  const body = (req.body ?? {}) as Record<string, unknown>;
  const creds = clientCredentials(req);
  if (!creds) {
    oauthError(res, 401, "invalid_client", "Client authentication failed");
    return;
  }
  const principal = ctx.directory.authenticateClient(creds.id, creds.secret);
  if (!principal) {
    oauthError(res, 401, "invalid_client", "Client authentication failed");
    return;
  }
  const locals = res.locals as CallerLocals;
  locals.principal = principal;
  locals.credential = "client_secret";
  if (body.grant_type !== "client_credentials") {
    oauthError(res, 400, "unsupported_grant_type", `Unsupported grant_type: ${String(body.grant_type)}`);
    return;
  }
  const scope = typeof body.scope === "string" && body.scope.trim() ? body.scope.trim() : "all-apis";
  const unknown = scope.split(/\s+/).filter((s) => !SUPPORTED_SCOPES.includes(s));
  if (unknown.length > 0) {
    oauthError(res, 400, "invalid_scope", `Invalid scope: ${unknown.join(" ")}`);
    return;
  }
  const accessToken = await mintToken(ctx, principal, principal.name, { scope });
  res.setHeader("Cache-Control", "no-store");
  res.json({
    access_token: accessToken,
    scope,
    token_type: "Bearer",
    expires_in: ctx.tokenTtlSeconds,
  });
}

export function oauthRouter(ctx: EmulatorContext): Router {
  const router = express.Router();

  router.get("/.well-known/databricks-config", (_req, res) => {
    // The OIDC endpoint on the host the client used; the discovery document there names the issuer.
    res.json({ oidc_endpoint: `${ctx.url()}/oidc`, workspace_id: ctx.workspaceId });
  });

  router.get("/oidc/.well-known/oauth-authorization-server", (_req, res) => {
    res.json(discoveryDocument(ctx));
  });
  router.get("/oidc/.well-known/openid-configuration", (_req, res) => {
    res.json(discoveryDocument(ctx));
  });

  const jwks = (_req: Request, res: Response): void => {
    if (ctx.faults.jwksDown()) {
      res.status(503).json({ error_code: "TEMPORARILY_UNAVAILABLE", message: "JWKS is temporarily unavailable." });
      return;
    }
    res.setHeader("Cache-Control", "public, max-age=300");
    res.json(ctx.keys.jwks());
  };
  router.get("/oidc/v1/keys", jwks);
  // The path Databricks' own discovery documents have used.
  router.get("/oidc/jwks.json", jwks);

  router.post("/oidc/v1/token", express.urlencoded({ extended: false }), (req, res, next) => {
    tokenEndpoint(ctx, req, res).catch(next);
  });

  return router;
}
