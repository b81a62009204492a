/**
 * A real signed token for the gateway's `token` identity mode: a key server publishing the
 * discovery document and JWKS (the same one the unit tests use), and a token with the
 * issuer and claims the verifier requires. The gateway fetches the keys once and caches
 * the verified token, as it would for a team's real callers.
 */
import { makeKey, signToken, startKeyServer } from "../../test/support/test-keys.js";

export const BENCH_USER = "bench-user@example.com";
/** Longer than the longest full run, so the token never expires mid-run. */
const TOKEN_LIFETIME = "4h";

export interface BenchIdentity {
  /** DATABRICKS_HOST for the gateway. */
  host: string;
  /** Sent on every request of every row (MLflow ignores it on the direct and nginx rows). */
  headers: Record<string, string>;
  close(): Promise<void>;
}

export async function startBenchIdentity(): Promise<BenchIdentity> {
  const key = await makeKey("bench-key-1");
  const server = await startKeyServer([key]);
  const token = await signToken(
    key,
    { sub: BENCH_USER, email: BENCH_USER, scope: "all-apis offline_access" },
    { issuer: `${server.host}/oidc`, expiresIn: TOKEN_LIFETIME },
  );
  return { host: server.host, headers: { Authorization: `Bearer ${token}` }, close: () => server.close() };
}
