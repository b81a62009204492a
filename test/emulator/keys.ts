// RS256 signing keys of the emulated workspace OIDC issuer. A key ring, not a
// single key, because rotation is the interesting case: after rotateKeys() the
// newest key signs, and the previous one stays in the JWKS for a grace period
// (tokens it signed keep verifying) or is dropped at once (they stop).

import { randomBytes } from "node:crypto";
import { type CryptoKey, type JWK, type JWTPayload, SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** Epoch ms after which the key is no longer published; undefined = published. */
  retiresAt?: number;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
  const jwk = await exportJWK(publicKey);
  // Databricks kids are opaque strings; any unique value serves.
  const kid = randomBytes(20).toString("hex");
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: "RS256", use: "sig" } };
}

export class KeyRing {
  private keys: SigningKey[] = [];

  private constructor() {}

  static async create(): Promise<KeyRing> {
    const ring = new KeyRing();
    ring.keys.push(await newKey());
    return ring;
  }

  private get signer(): SigningKey {
    const key = this.keys[this.keys.length - 1];
    if (!key) throw new Error("key ring is empty");
    return key;
  }

  currentKid(): string {
    return this.signer.kid;
  }

  /** Keys still published, newest last. */
  private published(now = Date.now()): SigningKey[] {
    return this.keys.filter((k) => k.retiresAt === undefined || k.retiresAt > now);
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.published().map((k) => k.publicJwk) };
  }

  /** Makes a new signer; the old ones retire after graceSeconds (0 = now). */
  async rotate(graceSeconds: number): Promise<string> {
    const now = Date.now();
    for (const key of this.keys) {
      const retiresAt = now + graceSeconds * 1000;
      if (key.retiresAt === undefined || key.retiresAt > retiresAt) key.retiresAt = retiresAt;
    }
    this.keys = this.published(now);
    const key = await newKey();
    this.keys.push(key);
    return key.kid;
  }

  async sign(claims: JWTPayload, options: { unknownKey?: boolean } = {}): Promise<string> {
    // An unpublished key proves that verifiers really check signatures.
    const key = options.unknownKey ? await newKey() : this.signer;
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "at+jwt" }).sign(key.privateKey);
  }

  /** Verifies signature, issuer, audience and times against the published keys. */
  async verify(token: string, issuer: string, audience: string): Promise<JWTPayload> {
    const keySet = createLocalJWKSet(this.jwks());
    const { payload } = await jwtVerify(token, keySet, {
      issuer,
      audience,
      algorithms: ["RS256"],
    });
    return payload;
  }
}
