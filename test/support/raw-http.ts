import { connect } from "node:net";

/**
 * The one raw HTTP/1.1 client of the tests: sends bytes exactly as written (no URL
 * normalisation, no header validation, pauses between parts) and reads the answer until
 * the connection closes. For requests a well-behaved client library refuses to send.
 */

export interface RawAnswer {
  /** The status line and headers, as sent. */
  head: string;
  status: number;
  body: string;
  /** Milliseconds from the connection to its close. */
  afterMs: number;
}

/** Writes `parts` (a number is a pause in ms) and collects the answer until the connection closes. */
export function rawExchange(
  port: number,
  parts: ReadonlyArray<string | Buffer | number>,
  options: { localAddress?: string; host?: string } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host: options.host ?? "127.0.0.1", port, localAddress: options.localAddress });
    const started = Date.now();
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", () => undefined);
    socket.on("connect", () => {
      void (async () => {
        for (const part of parts) {
          if (socket.destroyed) return;
          if (typeof part === "number") await new Promise((r) => setTimeout(r, part));
          else socket.write(part);
        }
      })();
    });
    socket.on("close", () => resolve(parseAnswer(Buffer.concat(received), Date.now() - started)));
  });
}

export function parseAnswer(raw: Buffer, afterMs = 0): RawAnswer {
  const text = raw.toString("latin1");
  const split = text.indexOf("\r\n\r\n");
  const head = split < 0 ? text : text.slice(0, split);
  let body = split < 0 ? "" : raw.subarray(Buffer.byteLength(text.slice(0, split + 4), "latin1")).toString("utf8");
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) body = dechunk(body);
  return { head, status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), body, afterMs };
}

function dechunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const lineEnd = rest.indexOf("\r\n");
    if (lineEnd < 0) return out;
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

/** A whole request as bytes: the request line as given, the headers, and the body with its length. */
export function rawRequest(method: string, target: string, headers: Record<string, string>, body?: string | Buffer): Buffer {
  const bodyBytes = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
  const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${bodyBytes.length}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8"), bodyBytes]);
}
