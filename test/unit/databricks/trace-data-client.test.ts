import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Secret } from "../../../src/config/secret.js";
import { FilesApiError } from "../../../src/databricks/files-client.js";
import { TraceDataClient } from "../../../src/databricks/trace-data-client.js";
import { WorkspaceClient } from "../../../src/databricks/workspace-client.js";

// The trace data client's own policy against a loopback server answering as scripted (the
// workspace's credential call and the storage's signed URL); how a workspace really answers
// is the emulator's job (test/emulator-tests/mlflow-python-client.test.ts, "traces").
type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
let script: Handler[] = [];
const seen: Array<{ method: string; url: string; authorization: string | undefined; body: string; headers: IncomingMessage["headers"] }> = [];
let url: string;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    seen.push({
      method: req.method ?? "",
      url: req.url ?? "",
      authorization: req.headers.authorization,
      body: body.toString(),
      headers: req.headers,
    });
    const next = script.shift();
    if (next === undefined) res.writeHead(500).end("unscripted");
    else next(req, res, body);
  });
});

function client(): TraceDataClient {
  return new TraceDataClient(
    new WorkspaceClient({ host: url, auth: { kind: "pat", token: new Secret("dapi-unit") }, experimentRoot: "/Shared/mlflow" }),
  );
}

const credential = (type: string) => (_q: IncomingMessage, res: ServerResponse) =>
  res
    .writeHead(200, { "content-type": "application/json" })
    .end(
      JSON.stringify({ credential_info: { signed_uri: `${url}/storage/traces.json?sig=1`, type, headers: [{ name: "x-amz-meta", value: "m" }] } }),
    );

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

describe("the trace data client", () => {
  it("writes a trace's data to the signed URL with its headers, and the workspace token only to the workspace", async () => {
    seen.length = 0;
    script = [credential("AWS_PRESIGNED_URL"), (_q, res) => res.writeHead(200).end()];
    await client().upload("tr-abc", Readable.from([Buffer.from('{"spans":[]}')]), 12);
    assert.equal(seen[0]?.url, "/api/2.0/mlflow/traces/tr-abc/credentials-for-data-upload");
    assert.equal(seen[0]?.authorization, "Bearer dapi-unit");
    assert.equal(seen[1]?.method, "PUT");
    assert.equal(seen[1]?.url, "/storage/traces.json?sig=1");
    assert.equal(seen[1]?.authorization, undefined);
    assert.equal(seen[1]?.headers["x-amz-meta"], "m");
    assert.equal(seen[1]?.body, '{"spans":[]}');
  });

  it("reads it back as a stream", async () => {
    script = [credential("AWS_PRESIGNED_URL"), (_q, res) => res.writeHead(200, { "content-length": "12" }).end('{"spans":[]}')];
    const download = await client().download("tr-abc");
    assert.equal(download.contentLength, 12);
    assert.equal(await new Response(download.body).text(), '{"spans":[]}');
  });

  it("reports a refused credential with the workspace's status and code, and writes nothing", async () => {
    seen.length = 0;
    script = [(_q, res) => res.writeHead(403, { "content-type": "application/json" }).end('{"error_code":"PERMISSION_DENIED","message":"no"}')];
    await assert.rejects(client().upload("tr-abc", Readable.from([Buffer.from("x")]), 1), (error: unknown) => {
      assert.ok(error instanceof FilesApiError);
      assert.equal(error.status, 403);
      assert.equal(error.error.code, "PERMISSION_DENIED");
      return true;
    });
    assert.equal(seen.length, 1);
  });

  it("refuses to write to a kind of signed URL it cannot write in one request, naming it", async () => {
    seen.length = 0;
    script = [credential("AZURE_ADLSGEN2_SAS_URI")];
    await assert.rejects(client().upload("tr-abc", Readable.from([Buffer.from("x")]), 1), /AZURE_ADLSGEN2_SAS_URI/);
    assert.equal(seen.length, 1, "nothing was sent to storage");
  });
});
