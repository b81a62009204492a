import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { StreamPutError, streamPut } from "../../../src/databricks/stream-put.js";

// What the uploads of artifacts, parts and trace data rely on: the body is pulled only as
// fast as the receiver reads it (the gateway's memory stays a socket buffer), and failures
// name their cause without the (signed) URL.
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.writeHead(500).end();
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const CHUNK = 64 * 1024;

/** A body of `total` bytes whose `pulled` says how much of it has been asked for so far. */
function countedBody(total: number): { body: AsyncIterable<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  return {
    pulled: () => pulled,
    body: Readable.from(
      (function* () {
        while (pulled < total) {
          pulled += CHUNK;
          yield Buffer.alloc(CHUNK, 1);
        }
      })(),
      { highWaterMark: 1 },
    ),
  };
}

describe("a streamed PUT", () => {
  it("sends every byte with the given headers and answers the receiver's status, headers and body", async () => {
    let received = 0;
    let contentType: string | undefined;
    handler = (req, res) => {
      contentType = req.headers["content-type"];
      req.on("data", (chunk: Buffer) => (received += chunk.length));
      req.on("end", () => res.writeHead(200, { etag: '"part-1"' }).end("stored"));
    };
    const { body } = countedBody(4 * 1024 * 1024);
    const response = await streamPut(`${base}/part?sig=unit`, {
      headers: { "content-type": "application/octet-stream", "content-length": String(4 * 1024 * 1024) },
      body,
      signal: new AbortController().signal,
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("etag"), '"part-1"');
    assert.equal(await response.text(), "stored");
    assert.equal(received, 4 * 1024 * 1024);
    assert.equal(contentType, "application/octet-stream");
  });

  it("pulls the body only as fast as the receiver reads: a paused receiver holds the sender to a few socket buffers", async () => {
    const TOTAL = 64 * 1024 * 1024;
    let paused: IncomingMessage | undefined;
    handler = (req, res) => {
      paused = req;
      req.pause();
      req.once("end", () => res.writeHead(200).end());
    };
    const { body, pulled } = countedBody(TOTAL);
    const controller = new AbortController();
    const sending = streamPut(`${base}/slow`, { headers: { "content-length": String(TOTAL) }, body, signal: controller.signal });
    // Wait for the pull to stop growing (the sender is blocked on backpressure), not a guessed time.
    let last = -1;
    while (pulled() !== last) {
      last = pulled();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(pulled() < 8 * 1024 * 1024, `pulled ${pulled()} bytes of a paused upload`);
    paused?.resume();
    paused?.on("data", () => undefined);
    const response = await sending;
    assert.equal(response.status, 200);
    assert.equal(pulled(), TOTAL);
  });

  it("answers the receiver's early refusal even though it never read the body", async () => {
    handler = (_req, res) => res.writeHead(403, { "content-type": "application/xml" }).end("<Error><Code>AccessDenied</Code></Error>");
    const { body } = countedBody(16 * 1024 * 1024);
    const response = await streamPut(`${base}/refused`, {
      headers: { "content-length": String(16 * 1024 * 1024) },
      body,
      signal: new AbortController().signal,
    });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /AccessDenied/);
  });

  it("fails a body shorter or longer than its content-length instead of leaving the receiver waiting", async () => {
    handler = (req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200).end());
    };
    const signal = new AbortController().signal;
    for (const [declared, reason] of [
      [10, "body shorter than its content-length"],
      [1, "body longer than its content-length"],
    ] as const) {
      await assert.rejects(
        streamPut(`${base}/length`, { headers: { "content-length": String(declared) }, body: Buffer.from("abc"), signal }),
        (error: unknown) => error instanceof StreamPutError && error.reason === reason,
      );
    }
  });

  it("names a connection failure by its cause, never by the signed URL", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await streamPut(`http://127.0.0.1:${port}/blob?sig=SIGNATURE-SECRET`, {
      headers: { "content-length": "3" },
      body: Buffer.from("abc"),
      signal: new AbortController().signal,
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof StreamPutError);
    assert.equal(error.reason, "ECONNREFUSED");
    assert.doesNotMatch(error.message, /SIGNATURE-SECRET|blob/);
  });

  it("stops when its signal aborts (a stalled transfer), and says so", async () => {
    handler = (req) => req.pause(); // never answers
    const { body } = countedBody(64 * 1024 * 1024);
    const controller = new AbortController();
    const sending = streamPut(`${base}/stalled`, { headers: { "content-length": String(64 * 1024 * 1024) }, body, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("the transfer stalled")), 100);
    await assert.rejects(sending, (error: unknown) => error instanceof StreamPutError && error.reason === "aborted");
  });

  it("fails when the body fails midway (the client left), so nothing partial is stored", async () => {
    const receiverSaw = new Promise<string>((resolve) => {
      handler = (req) => {
        req.resume();
        req.on("end", () => resolve("a complete body"));
        req.on("aborted", () => resolve("aborted"));
        req.on("error", () => resolve("aborted"));
      };
    });
    const body = Readable.from(
      (function* () {
        yield Buffer.alloc(CHUNK);
        throw new Error("the client closed the upload");
      })(),
    );
    await assert.rejects(
      streamPut(`${base}/midway`, { headers: { "content-length": String(10 * CHUNK) }, body, signal: new AbortController().signal }),
      StreamPutError,
    );
    assert.equal(await receiverSaw, "aborted", "the receiver never saw a complete body");
  });
});
