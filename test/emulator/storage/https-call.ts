// One HTTPS request to a loopback server whose certificate comes from the
// emulator's own CA (global fetch cannot take a CA without an extra
// dependency). Used for Azurite's admin calls and by the DFS front.

import https from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";

/** Per-call limit; Azurite answers in milliseconds, a hang means it died. */
export const HTTPS_CALL_TIMEOUT_MS = 30_000;

export interface HttpsCall {
  url: string;
  method: string;
  headers?: Record<string, string>;
  /** A buffer, or a stream piped through (request bodies of unknown size). */
  body?: Buffer | string | Readable;
  /** PEM of the CA that signed the server's certificate. */
  ca: string;
}

export interface HttpsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends the request and buffers the answer, whatever its status. */
export function httpsCall(call: HttpsCall): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(call.url, { method: call.method, headers: call.headers ?? {}, ca: call.ca, timeout: HTTPS_CALL_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${call.method} ${call.url} timed out after ${HTTPS_CALL_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    const body = call.body;
    if (body === undefined || typeof body === "string" || Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      body.on("error", (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

/** A header's single value (Node joins repeated ones). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(", ") : value;
}
