import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";

describe("the MLflow web UI through the gateway", () => {
  let gateway: SharedGateway;
  before(async () => {
    gateway = await useSharedGateway();
  });
  after(async () => {
    await gateway.release();
  });

  it("serves MLflow's index page with a request id", async () => {
    const response = await fetch(`${gateway.url}/`, { headers: { accept: "text/html" } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/html/);
    assert.match(response.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    const html = await response.text();
    assert.match(html, /<title>MLflow<\/title>/);
  });

  it("serves every script and stylesheet the index page references", async () => {
    const html = await (await fetch(`${gateway.url}/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="\.?\/?(static-files\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    assert.ok(assets.length >= 2, `index references assets: ${assets.join(", ")}`);
    for (const asset of assets) {
      const response = await fetch(`${gateway.url}/${asset}`);
      assert.equal(response.status, 200, asset);
      const body = await response.arrayBuffer();
      assert.ok(body.byteLength > 100, `${asset} has content`);
    }
  });

  it("keeps the caller's X-Request-Id when it is a plain id, and replaces a hostile one", async () => {
    const kept = await fetch(`${gateway.url}/health`, { headers: { "x-request-id": "req-123_abc" } });
    assert.equal(kept.headers.get("x-request-id"), "req-123_abc");
    const replaced = await fetch(`${gateway.url}/health`, { headers: { "x-request-id": "x y <script>" } });
    assert.notEqual(replaced.headers.get("x-request-id"), "x y <script>");
    assert.match(replaced.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  });
});
