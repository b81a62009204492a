import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Secret } from "../../../src/config/secret.js";
import { encodeWorkspacePath, FilesApiError, FilesClient } from "../../../src/databricks/files-client.js";
import { WorkspaceClient } from "../../../src/databricks/workspace-client.js";

// The client's own policy (encoding, retries, error mapping, streaming) against a loopback
// server that answers as scripted; how a workspace really answers is the emulator's job
// (test/emulator-tests/transfers.test.ts, test/integration/databricks-artifacts.test.ts).
type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
let script: Handler[] = [];
const seen: Array<{ method: string; url: string; authorization: string | undefined; bytes: number }> = [];
let url: string;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization, bytes: body.length });
    const next = script.shift();
    if (next === undefined) res.writeHead(500).end("unscripted");
    else next(req, res, body);
  });
});

function client(): FilesClient {
  const workspace = new WorkspaceClient({ host: url, auth: { kind: "pat", token: new Secret("dapi-unit") }, experimentRoot: "/Shared/mlflow" });
  return new FilesClient(workspace, { sleep: () => Promise.resolve() });
}

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

describe("the Files API client", () => {
  it("encodes each path segment once, keeping the slashes", () => {
    assert.equal(encodeWorkspacePath("/Volumes/main/a b/c#d/e%f.txt"), "/Volumes/main/a%20b/c%23d/e%25f.txt");
  });

  it("retries throttled and failing control calls, then answers; the token goes only to the workspace", async () => {
    seen.length = 0;
    script = [
      (_q, res) => res.writeHead(429, { "retry-after": "0" }).end('{"error_code":"REQUEST_LIMIT_EXCEEDED"}'),
      (_q, res) => res.writeHead(503).end('{"error_code":"TEMPORARILY_UNAVAILABLE"}'),
      (_q, res) =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end('{"contents":[{"path":"/Volumes/c/s/v/a.txt","name":"a.txt","file_size":3}],"next_page_token":"p2"}'),
      (_q, res) =>
        res.writeHead(200, { "content-type": "application/json" }).end('{"contents":[{"path":"/Volumes/c/s/v/d","name":"d","is_directory":true}]}'),
    ];
    const entries = await client().list("/Volumes/c/s/v");
    assert.deepEqual(entries, [
      { path: "/Volumes/c/s/v/a.txt", name: "a.txt", isDir: false, size: 3 },
      { path: "/Volumes/c/s/v/d", name: "d", isDir: true, size: undefined },
    ]);
    assert.equal(seen.length, 4);
    assert.equal(seen[3]?.url, "/api/2.0/fs/directories/Volumes/c/s/v?page_token=p2");
    assert.ok(seen.every((s) => s.authorization === "Bearer dapi-unit"));
  });

  it("gives up after its attempts with a typed error carrying the workspace's code", async () => {
    script = Array.from(
      { length: 4 },
      () => (_q: IncomingMessage, res: ServerResponse) => res.writeHead(503).end('{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}'),
    );
    await assert.rejects(
      client().list("/Volumes/c/s/v"),
      (error: unknown) => error instanceof FilesApiError && error.status === 503 && error.error.code === "TEMPORARILY_UNAVAILABLE",
    );
    assert.equal(script.length, 0, "four attempts");
  });

  it("does not retry a refusal, and never a streamed upload", async () => {
    script = [(_q, res) => res.writeHead(403).end('{"error_code":"PERMISSION_DENIED","message":"no"}')];
    await assert.rejects(client().metadata("/Volumes/c/s/v/x"), (error: unknown) => error instanceof FilesApiError && error.status === 403);
    seen.length = 0;
    script = [(_q, res) => res.writeHead(503).end("{}"), (_q, res) => res.writeHead(200).end()];
    await assert.rejects(
      client().upload("/Volumes/c/s/v/x", Readable.from([Buffer.from("abc")]), 3),
      (error: unknown) => error instanceof FilesApiError && error.status === 503,
    );
    assert.equal(seen.length, 1, "one attempt: the stream cannot be sent twice");
    assert.equal(seen[0]?.url, "/api/2.0/fs/files/Volumes/c/s/v/x?overwrite=true");
    assert.equal(seen[0]?.bytes, 3);
    script = [];
  });

  it("aborts an upload whose body ends before its declared length, so nothing is written", async () => {
    script = [(_q, res) => res.writeHead(200).end()];
    await assert.rejects(client().upload("/Volumes/c/s/v/short", Readable.from([Buffer.from("ab")]), 10));
    script = [];
  });
});
