import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

export async function signToken(
  key: SigningKey,
  claims: JWTPayload,
  options: { issuer: string; expiresIn?: string | number; notBefore?: string | number },
): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" }).setIssuer(options.issuer).setIssuedAt();
  jwt = jwt.setExpirationTime(options.expiresIn ?? "1h");
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  return await jwt.sign(key.privateKey);
}

/**
 * A minimal OAuth discovery + JWKS server for unit tests of the verifier, which only
 * needs these two documents. Integration tests use the full workspace emulator.
 */
export interface KeyServer {
  host: string;
  published: SigningKey[];
  requests: { discovery: number; jwks: number };
  down: boolean;
  /** The issuer the discovery document names (default {host}/oidc); a workspace alias names another. */
  issuer: string | undefined;
  close(): Promise<void>;
}

export async function startKeyServer(published: SigningKey[]): Promise<KeyServer> {
  const state: KeyServer = {
    host: "",
    published,
    requests: { discovery: 0, jwks: 0 },
    down: false,
    issuer: undefined,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    if (state.down) {
      res.writeHead(503).end();
      return;
    }
    if (req.url === "/oidc/.well-known/oauth-authorization-server") {
      state.requests.discovery += 1;
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          issuer: state.issuer ?? `${state.host}/oidc`,
          jwks_uri: `${state.host}/oidc/v1/keys`,
          token_endpoint: `${state.host}/oidc/v1/token`,
        }),
      );
      return;
    }
    if (req.url === "/oidc/v1/keys") {
      state.requests.jwks += 1;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: state.published.map((k) => k.publicJwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
