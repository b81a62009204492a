import { GatewayError } from "../errors.js";
import { bearerChallenge } from "./token-verifier.js";

/** What the Databricks Apps front door forwards about the caller. Claims, not proof. */
export interface ForwardedClaims {
  user: string | undefined;
  email: string | undefined;
  preferredUsername: string | undefined;
  accessToken: string | undefined;
  /** From `Authorization: Bearer`, when a program sends its token along. */
  bearerToken: string | undefined;
}

const IDENTITY_HEADERS = {
  user: "x-forwarded-user",
  email: "x-forwarded-email",
  preferredUsername: "x-forwarded-preferred-username",
  accessToken: "x-forwarded-access-token",
} as const;

/** A header value longer than this is not an identity; refuse it before parsing. */
export const MAX_IDENTITY_HEADER_LENGTH = 8_192;

/**
 * Reads the identity headers from Node's raw header list, so that a header sent twice
 * is seen as such (Node would join the values). Identical repeats are harmless; repeats
 * that disagree are an attempt to confuse whoever reads the first or the last one.
 */
export function readForwardedClaims(rawHeaders: readonly string[]): ForwardedClaims {
  const seen = new Map<string, string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? "").toLowerCase();
    const value = (rawHeaders[i + 1] ?? "").trim();
    if (!isIdentityHeader(name)) continue;
    if (value.length > MAX_IDENTITY_HEADER_LENGTH) {
      throw new GatewayError("UNAUTHENTICATED", `Authentication failed: header ${name} is longer than ${MAX_IDENTITY_HEADER_LENGTH} characters.`, {
        headers: { "WWW-Authenticate": bearerChallenge("invalid_request", `${name} is too long`) },
      });
    }
    const previous = seen.get(name);
    if (previous !== undefined && previous !== value) {
      throw new GatewayError("HEADER_REJECTED", `Header ${name} was sent more than once with different values.`);
    }
    seen.set(name, value);
  }
  const authorization = seen.get("authorization");
  const bearer = authorization !== undefined ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined;
  return {
    user: nonEmpty(seen.get(IDENTITY_HEADERS.user)),
    email: nonEmpty(seen.get(IDENTITY_HEADERS.email)),
    preferredUsername: nonEmpty(seen.get(IDENTITY_HEADERS.preferredUsername)),
    accessToken: nonEmpty(seen.get(IDENTITY_HEADERS.accessToken)),
    bearerToken: bearer,
  };
}

function isIdentityHeader(name: string): boolean {
  return name === "authorization" || Object.values(IDENTITY_HEADERS).includes(name as (typeof IDENTITY_HEADERS)[keyof typeof IDENTITY_HEADERS]);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Headers removed before a request reaches the child: credentials (the child acts as
 * the service principal only) and every identity claim (the child must not trust them).
 * Underscore spellings were refused earlier (guards/header-spellings.ts).
 */
export function isCredentialOrIdentityHeader(lowerCaseName: string): boolean {
  return (
    lowerCaseName === "authorization" ||
    lowerCaseName === "proxy-authorization" ||
    lowerCaseName === "cookie" ||
    lowerCaseName === "forwarded" ||
    lowerCaseName === "x-real-ip" ||
    lowerCaseName.startsWith("x-forwarded-") ||
    lowerCaseName.startsWith("x-databricks-")
  );
}
