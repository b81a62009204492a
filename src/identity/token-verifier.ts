import { errors, jwtVerify, type JWTPayload } from "jose";
import { GatewayError } from "../errors.js";
import { VerifiedTokenCache } from "./verified-token-cache.js";
import type { WorkspaceKeys } from "./workspace-keys.js";

/** Asymmetric algorithms only: `none` and HS* (shared secrets) can never verify. */
export const ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
/** Clock difference tolerated on exp/nbf/iat. */
export const CLOCK_SKEW_SECONDS = 30;
/** A token longer than this is not a Databricks token; refuse before any parsing. */
export const MAX_TOKEN_LENGTH = 8_192;

export interface VerifiedToken {
  /** The key set it was verified against: after a rotation drops a key, its tokens are re-checked. */
  keyGeneration: number;
  subject: string;
  email: string | undefined;
  userName: string | undefined;
  scopes: string[];
  expiresAt: number;
}

export interface TokenVerifierOptions {
  keys: WorkspaceKeys;
  /** Every one of these must be granted (claim `scope`, space separated, or `scp`). */
  requiredScopes: readonly string[];
  now?: () => number;
}

/**
 * Verifies workspace OAuth tokens (RFC 7519 JWTs signed with the workspace's keys).
 * Failures are 401 UNAUTHENTICATED with a short reason; a missing key set is 503.
 */
export class TokenVerifier {
  readonly #options: TokenVerifierOptions;
  readonly #cache = new VerifiedTokenCache<VerifiedToken>();

  constructor(options: TokenVerifierOptions) {
    this.#options = options;
  }

  async verify(token: string): Promise<VerifiedToken> {
    const now = (this.#options.now ?? Date.now)();
    const cached = this.#cache.get(token, now);
    if (cached !== undefined && cached.keyGeneration === this.#options.keys.generation) return cached;
    if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
      throw invalidToken("the token is not a well-formed JWT");
    }
    // The issuer is the discovery document's (an alias or regional host may differ from DATABRICKS_HOST).
    const issuer = await this.#options.keys.issuer();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#options.keys.getKey, {
        issuer,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ["exp", "sub"],
        currentDate: new Date(now),
      }));
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw invalidToken(reasonOf(error), error);
    }
    const scopes = scopesOf(payload);
    const missing = this.#options.requiredScopes.filter((scope) => !scopes.includes(scope));
    if (missing.length > 0) {
      throw new GatewayError("UNAUTHENTICATED", `The token lacks the required scope(s): ${missing.join(", ")}.`, {
        headers: { "WWW-Authenticate": bearerChallenge("insufficient_scope", `missing scope ${missing.join(" ")}`) },
      });
    }
    const verified: VerifiedToken = {
      keyGeneration: this.#options.keys.generation,
      subject: String(payload.sub),
      email: stringClaim(payload, "email"),
      userName: stringClaim(payload, "preferred_username") ?? stringClaim(payload, "username"),
      scopes,
      expiresAt: (payload.exp ?? 0) * 1000,
    };
    this.#cache.set(token, verified, verified.expiresAt);
    return verified;
  }
}

function scopesOf(payload: JWTPayload): string[] {
  const raw = payload["scope"] ?? payload["scp"];
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return typeof raw === "string" ? raw.split(/[\s,]+/).filter(Boolean) : [];
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Reasons callers may see: which check failed, never the token or key material. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "the token is not valid yet";
    if (error.claim === "iss") return "the token was issued by another issuer";
    return `the token's ${error.claim} claim is invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "the token's signing algorithm is not allowed";
  if (error instanceof errors.JWKSNoMatchingKey) return "the token was signed with an unknown key";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "the token's key is ambiguous";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature is invalid";
  return "the token is malformed";
}

export function invalidToken(description: string, cause?: unknown): GatewayError {
  return new GatewayError("UNAUTHENTICATED", `Authentication failed: ${description}.`, {
    cause,
    headers: { "WWW-Authenticate": bearerChallenge("invalid_token", description) },
  });
}

/** RFC 6750 section 3: quoted-string values, so quotes and backslashes are removed. */
export function bearerChallenge(error?: string, description?: string): string {
  const parts = ['Bearer realm="mlflow-gateway"'];
  if (error) parts.push(`error="${error}"`);
  if (description) parts.push(`error_description="${description.replace(/[^\x20-\x7e]|["\\]/g, "")}"`);
  return parts.join(", ");
}
