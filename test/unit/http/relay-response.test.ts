import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { createRequestContext } from "../../../src/request/request-context.js";
import { relayResponse } from "../../../src/proxy/relay-response.js";

// A child that answers what each test asks for, and a front that relays it with a
// filtering rewrite, as the pipeline does for a team-scoped GraphQL query.
let child: Server;
let front: Server;
let frontUrl = "";

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`);
    }),
  );
}

before(async () => {
  child = createServer((req, res) => {
    const kind = new URL(req.url ?? "/", "http://child").searchParams.get("kind");
    if (kind === "gzip") return void res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end("\x1f\x8bnot-really");
    if (kind === "text") return void res.writeHead(200, { "content-type": "application/json" }).end("{not json");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ modelVersions: [{ name: "mine" }, { name: "theirs" }] }));
  });
  const childUrl = await listen(child);
  front = createServer((req, res) => {
    const context = createRequestContext(req, "/graphql");
    const required = new URL(req.url ?? "/", "http://front").searchParams.get("required") === "1";
    context.rewriteRequired = required;
    context.rewriteAnswer = (body) => ({
      modelVersions: (body as { modelVersions: Array<{ name: string }> }).modelVersions.filter((v) => v.name === "mine"),
    });
    const upstream = request(`${childUrl}${req.url ?? "/"}`, (proxyRes) => relayResponse(proxyRes, req, res));
    upstream.end();
  });
  frontUrl = await listen(front);
});
after(() => {
  child.close();
  front.close();
});

describe("relaying an answer that must be filtered", () => {
  it("filters a readable JSON answer", async () => {
    const answer = await fetch(`${frontUrl}/graphql?required=1`);
    assert.deepEqual(await answer.json(), { modelVersions: [{ name: "mine" }] });
  });

  it("refuses an encoded or unreadable answer instead of passing it unfiltered", async () => {
    for (const kind of ["gzip", "text"]) {
      const answer = await fetch(`${frontUrl}/graphql?required=1&kind=${kind}`, { headers: { "accept-encoding": "identity" } });
      assert.equal(answer.status, 500, kind);
      const body = (await answer.json()) as { gateway_error: string; message: string };
      assert.equal(body.gateway_error, "UPSTREAM_ERROR");
      assert.match(body.message, /must filter this answer/);
    }
  });

  it("a rewrite that is not a filter still relays what it cannot read", async () => {
    const answer = await fetch(`${frontUrl}/graphql?kind=text`);
    assert.equal(answer.status, 200);
    assert.equal(await answer.text(), "{not json");
  });
});
