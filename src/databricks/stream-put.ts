import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * A PUT whose body is a stream (an artifact, a part of one, a trace's data), sent with
 * node:http(s) and piped with backpressure, so the gateway holds a socket buffer of it at
 * a time. Not fetch: undici's request-body path (web streams) grew the gateway's RSS by
 * 150-230 MB for 32 MB parts, four at a time, where a pipe grows it by the receiving
 * socket's buffers (measured on Node 20.20; the 1 GiB test in databricks-artifacts.test.ts
 * failed its memory bound that way).
 *
 * The answer is a web Response so callers read statuses and Databricks error bodies the
 * same way as everywhere else. A connection failure is a StreamPutError naming its cause,
 * never the URL: a presigned URL carries its signature.
 */

export class StreamPutError extends Error {
  override readonly name = "StreamPutError";
  constructor(
    /** The system error code (ECONNREFUSED, ECONNRESET, ...), "aborted", or what was wrong with the body. */
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(`the upload did not complete (${reason})`, options);
  }
}

export interface StreamPut {
  headers: Record<string, string>;
  /** Exactly the bytes announced in the content-length header (required); otherwise the PUT fails. */
  body: AsyncIterable<Uint8Array> | Buffer;
  /** Aborts the request, its body and the wait for an answer. */
  signal: AbortSignal;
}

export async function streamPut(url: string, put: StreamPut): Promise<Response> {
  const declared = Number(put.headers["content-length"]);
  if (!Number.isSafeInteger(declared) || declared < 0) throw new StreamPutError("no content-length");
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  const req = send(target, { method: "PUT", headers: put.headers, signal: put.signal });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
  // Read below, or superseded by the write side's failure: never an unhandled rejection.
  answered.catch(() => undefined);
  // A storage service may answer (an error) before it has read the body: the answer wins,
  // and the write side's failure that follows is not the story.
  const written = pipeline(exactly(declared, Buffer.isBuffer(put.body) ? [put.body] : put.body), req).then(
    () => answered,
    (error: unknown) => Promise.reject(error instanceof Error ? error : new Error(String(error))),
  );
  written.catch(() => undefined);
  let incoming: IncomingMessage;
  try {
    incoming = await Promise.race([answered, written]);
  } catch (error) {
    req.destroy();
    throw new StreamPutError(reasonOf(error, put.signal), { cause: error });
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const status = incoming.statusCode ?? 502;
  const nullBody = status === 204 || status === 205 || status === 304;
  if (nullBody) incoming.resume();
  return new Response(nullBody ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>), { status, headers });
}

/**
 * The body, checked against its declared length: node:http sends whatever it is given, so a
 * body that ends short would leave the receiver waiting for bytes that never come (and one
 * that runs long would corrupt the connection). Either fails the request instead.
 */
async function* exactly(declared: number, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of body) {
    sent += chunk.length;
    if (sent > declared) throw new StreamPutError("body longer than its content-length");
    yield chunk;
  }
  if (sent !== declared) throw new StreamPutError("body shorter than its content-length");
}

function reasonOf(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "aborted";
  if (error instanceof StreamPutError) return error.reason;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /^[A-Z_]{2,40}$/.test(code) ? code : "connection failed";
}
