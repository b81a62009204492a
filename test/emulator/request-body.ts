// How an upload's body is framed. A PUT must say where its body ends, by Content-Length or
// chunked encoding (RFC 9112 §6.3): without either, HTTP reads it as empty, and a
// Databricks host refuses it rather than store an empty file by accident. The SDK works
// around exactly that: "requests sends an empty stream chunked, without the Content-Length
// these hosts require" (databricks-sdk 0.167.0 mixins/files.py:2279), so it sends empty
// uploads as b"" with Content-Length: 0.

import type { IncomingMessage } from "node:http";

/** The request's Content-Length, or undefined when it has none (chunked, or no framing). */
export function contentLengthOf(req: IncomingMessage): number | undefined {
  const raw = req.headers["content-length"];
  // node's parser has already refused a malformed or repeated Content-Length.
  return raw === undefined ? undefined : Number(raw);
}

/** Whether the request says where its body ends: a Content-Length or chunked transfer encoding. */
export function hasBodyFraming(req: IncomingMessage): boolean {
  return req.headers["content-length"] !== undefined || /\bchunked\b/i.test(req.headers["transfer-encoding"] ?? "");
}
