import { GatewayError } from "../errors.js";
import type { ForwardedClaims } from "./forwarded-headers.js";
import type { Identity } from "./identity.js";
import { bearerChallenge, type TokenVerifier, type VerifiedToken } from "./token-verifier.js";

/**
 * - headers: the front door's identity headers are required; a forwarded token, when
 *   present, must verify and name the same principal.
 * - token: a verified token is required (workspaces with user authorization enabled).
 * - local: one fixed developer identity; only allowed on a loopback listener.
 */
export type IdentityMode = "headers" | "token" | "local";

export interface IdentityResolver {
  mode: IdentityMode;
  resolve(claims: ForwardedClaims): Promise<Identity>;
}

export function createIdentityResolver(mode: IdentityMode, verifier: TokenVerifier | undefined, localUser: string): IdentityResolver {
  if (mode !== "local" && verifier === undefined) throw new Error(`identity mode ${mode} needs a token verifier`);
  const local: Identity = {
    subject: localUser,
    email: localUser.includes("@") ? localUser : undefined,
    userName: localUser,
    forwardedUser: undefined,
    verifiedBy: "local",
    scopes: [],
  };
  return {
    mode,
    async resolve(claims) {
      if (mode === "local") return local;
      const token = claims.accessToken ?? claims.bearerToken;
      const hasHeaders = claims.user !== undefined || claims.email !== undefined || claims.preferredUsername !== undefined;
      if (mode === "headers" && claims.user === undefined) {
        throw noIdentity(hasHeaders ? "X-Forwarded-User is missing" : "no identity was forwarded");
      }
      if (mode === "token" && token === undefined) throw noIdentity("an access token is required");
      if (token === undefined) return fromHeaders(claims);
      const verified = await (verifier as TokenVerifier).verify(token);
      if (hasHeaders && !samePrincipal(verified, claims)) {
        throw new GatewayError("UNAUTHENTICATED", "Authentication failed: the access token and the identity headers name different principals.", {
          headers: { "WWW-Authenticate": bearerChallenge("invalid_token", "token and identity headers disagree") },
        });
      }
      return {
        subject: verified.subject,
        email: verified.email ?? claims.email,
        userName: verified.userName ?? claims.preferredUsername,
        forwardedUser: claims.user,
        verifiedBy: "token",
        scopes: verified.scopes,
      };
    },
  };
}

function fromHeaders(claims: ForwardedClaims): Identity {
  return {
    subject: claims.user ?? "",
    email: claims.email,
    userName: claims.preferredUsername,
    forwardedUser: claims.user,
    verifiedBy: "headers",
    scopes: [],
  };
}

/**
 * The token and the headers must not contradict each other, and must share a name: the
 * token's subject or email against X-Forwarded-User (or its numeric id part), -Email or
 * -Preferred-Username. Databricks does not document which of these `sub` carries.
 */
export function samePrincipal(token: VerifiedToken, claims: ForwardedClaims): boolean {
  const lower = (value: string | undefined) => value?.toLowerCase();
  if (token.email !== undefined && claims.email !== undefined && lower(token.email) !== lower(claims.email)) return false;
  const headerNames = new Set(
    [claims.user, claims.user?.split("@")[0], claims.email, claims.preferredUsername]
      .filter((v): v is string => v !== undefined)
      .map((v) => v.toLowerCase()),
  );
  return [token.subject, token.email, token.userName].some((name) => name !== undefined && headerNames.has(name.toLowerCase()));
}

function noIdentity(why: string): GatewayError {
  return new GatewayError(
    "UNAUTHENTICATED",
    `Authentication required: ${why}. Reach MLflow through the Databricks App's URL, with a Databricks OAuth token for programs.`,
    {
      headers: { "WWW-Authenticate": bearerChallenge() },
    },
  );
}
