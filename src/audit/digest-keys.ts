import { digestMatches } from "./hash-chain.js";

/**
 * A key that `verify` checks digest signatures with, and the name reports call it by: the
 * environment variable it was read from, never its value. A trail that lived through a key
 * rotation holds streams signed with each key in turn, hence a list. The gateway reads its
 * key once, at start, so one stream is always signed with one key: a rotation takes effect
 * at a restart, which starts a new stream.
 */
export interface DigestKey {
  name: string;
  key: Buffer;
}

/** What a digest signs (hash-chain.ts, digestSignature) and the signature it carries. */
export interface SignedDigest {
  stream: string;
  coversSeq: number;
  coversHash: string;
  signature: string;
}

/**
 * The key that produced the digest's signature, or undefined when none of them did. The
 * key named `preferred` (the one that signed the stream's earlier digests) is tried first:
 * it is the one expected, and the others then only cost something on a mismatch.
 */
export function findSigningKey(keys: readonly DigestKey[], digest: SignedDigest, preferred?: string): DigestKey | undefined {
  const ordered = preferred === undefined ? keys : [...keys.filter((k) => k.name === preferred), ...keys.filter((k) => k.name !== preferred)];
  return ordered.find(({ key }) => digestMatches(key, digest.stream, digest.coversSeq, digest.coversHash, digest.signature));
}

/** `the key in A` or `any of the keys in A, B`: how findings name the keys a signature was checked against. */
export function describeKeys(names: readonly string[]): string {
  return names.length === 1 ? `the key in ${names[0]}` : `any of the keys in ${names.join(", ")}`;
}
