// AWS Signature Version 4 for header-signed requests, enough for the IAM and
// STS query APIs and S3 object calls the S3 model storage makes against moto
// (and for tests that play a client holding vended credentials).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// moto re-computes the signature with botocore's SigV4Auth/S3SigV4Auth
// (moto/iam/access_control.py, IAMRequestBase._calculate_signature) over the
// signed headers as received, so this must match botocore byte for byte:
// the query string is canonicalised from the raw pairs as sent (botocore
// auth.py _canonical_query_string_url), so callers encode it once with
// encodeQuery() and the signer sorts exactly what goes on the wire.

import { createHash, createHmac } from "node:crypto";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignableRequest {
  method: string;
  url: URL;
  /** Extra headers to send and sign (content-type, ...); names in any case. */
  headers?: Record<string, string>;
  body?: Buffer | string;
  service: string;
  region: string;
  credentials: AwsCredentials;
}

const ALGORITHM = "AWS4-HMAC-SHA256";

const sha256Hex = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A query string with keys and values RFC 3986 encoded, to put in the URL as is. */
export function encodeQuery(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** An S3 object path, each key segment encoded once (S3 signs the path without normalising it). */
export function s3ObjectPath(bucket: string, key: string): string {
  return `/${encodeRfc3986(bucket)}/${key.split("/").map(encodeRfc3986).join("/")}`;
}

/** Raw pairs sorted by key, then value, as botocore does. */
function canonicalQuery(search: string): string {
  const pairs = search
    .replace(/^\?/, "")
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf("=");
      return at < 0 ? ([pair, ""] as const) : ([pair.slice(0, at), pair.slice(at + 1)] as const);
    });
  pairs.sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** The headers to send: the caller's plus host, x-amz-date, x-amz-content-sha256, the session token and Authorization. */
export function signAwsRequest(req: SignableRequest): Record<string, string> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(req.body ?? "");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value.trim();
  headers.host = req.url.host;
  headers["x-amz-date"] = amzDate;
  headers["x-amz-content-sha256"] = payloadHash;
  if (req.credentials.sessionToken) headers["x-amz-security-token"] = req.credentials.sessionToken;

  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    req.method.toUpperCase(),
    req.url.pathname,
    canonicalQuery(req.url.search),
    ...names.map((n) => `${n}:${headers[n] ?? ""}`),
    "",
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${req.region}/${req.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = [day, req.region, req.service, "aws4_request"].reduce<Buffer | string>(
    (key, part) => hmac(key, part),
    `AWS4${req.credentials.secretAccessKey}`,
  );
  const signature = createHmac("sha256", signingKey).update(stringToSign, "utf8").digest("hex");
  // fetch sets Host itself (from the URL, as signed); it may not be passed.
  const toSend = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== "host"));
  return {
    ...toSend,
    authorization: `${ALGORITHM} Credential=${req.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}
