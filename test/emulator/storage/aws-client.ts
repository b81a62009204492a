// Signed calls to an AWS-compatible endpoint (moto in server mode): the IAM
// and STS query APIs (form POST, XML answer) and S3 REST calls. One endpoint
// serves every service; moto routes on the credential scope of the
// Authorization header (moto/moto_server/werkzeug_app.py,
// infer_service_region_host), so even calls made before authentication is
// switched on are signed.

import { type AwsCredentials, encodeQuery, s3ObjectPath, signAwsRequest } from "./aws-sigv4.js";
import { xmlText } from "./xml.js";

/** Per-call limit; moto answers in milliseconds, a hang means it died. */
const AWS_CALL_TIMEOUT_MS = 15_000;

const API_VERSIONS = { iam: "2010-05-08", sts: "2011-06-15" } as const;

export type AwsErrorCode = "AccessDenied" | "SignatureDoesNotMatch" | "InvalidToken" | "InvalidClientTokenId" | (string & {});

/** An error answer from the AWS endpoint, with its <Code>. */
export class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly code: AwsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "AwsError";
  }
}

export interface AwsEndpoint {
  /** http://127.0.0.1:<port> */
  url: string;
  region: string;
}

export interface AwsResponse {
  status: number;
  headers: Headers;
  text: string;
}

function errorOf(service: string, action: string, res: AwsResponse): AwsError {
  const code = xmlText(res.text, "Code") ?? `HTTP${res.status}`;
  const message = xmlText(res.text, "Message") ?? res.text.slice(0, 300);
  return new AwsError(res.status, code, `${service} ${action} failed: ${res.status} ${code}: ${message}`);
}

/** An IAM or STS query API action; answers the response XML or throws AwsError. */
export async function callAwsQuery(
  endpoint: AwsEndpoint,
  credentials: AwsCredentials,
  service: keyof typeof API_VERSIONS,
  action: string,
  params: Record<string, string> = {},
): Promise<string> {
  const url = new URL("/", endpoint.url);
  const body = encodeQuery({ Action: action, Version: API_VERSIONS[service], ...params });
  const headers = signAwsRequest({
    method: "POST",
    url,
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body,
    service,
    region: endpoint.region,
    credentials,
  });
  const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(AWS_CALL_TIMEOUT_MS) });
  const answer = { status: res.status, headers: res.headers, text: await res.text() };
  if (res.status !== 200) throw errorOf(service, action, answer);
  return answer.text;
}

export interface S3Call {
  method: "GET" | "PUT" | "DELETE" | "HEAD";
  bucket: string;
  /** Object key; omitted for bucket calls. */
  key?: string;
  query?: Record<string, string>;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

/** One S3 REST call, path-style; answers whatever status S3 gave (callers decide). */
export async function callS3(endpoint: AwsEndpoint, credentials: AwsCredentials, call: S3Call): Promise<AwsResponse> {
  const path = call.key === undefined ? `/${call.bucket}` : s3ObjectPath(call.bucket, call.key);
  const query = call.query ? encodeQuery(call.query) : "";
  const url = new URL(`${path}${query ? `?${query}` : ""}`, endpoint.url);
  const headers = signAwsRequest({
    method: call.method,
    url,
    ...(call.headers ? { headers: call.headers } : {}),
    ...(call.body !== undefined ? { body: call.body } : {}),
    service: "s3",
    region: endpoint.region,
    credentials,
  });
  const res = await fetch(url, {
    method: call.method,
    headers,
    ...(call.body !== undefined ? { body: call.body } : {}),
    signal: AbortSignal.timeout(AWS_CALL_TIMEOUT_MS),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** callS3 that throws AwsError unless the status is 2xx. */
export async function callS3Ok(endpoint: AwsEndpoint, credentials: AwsCredentials, call: S3Call): Promise<AwsResponse> {
  const res = await callS3(endpoint, credentials, call);
  if (res.status < 200 || res.status > 299) throw errorOf("s3", `${call.method} ${call.bucket}/${call.key ?? ""}`, res);
  return res;
}
