import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkCrossSite } from "../../../src/guards/cross-site.js";

function refused(method: string, headers: Record<string, string>): boolean {
  try {
    checkCrossSite(method, headers);
    return false;
  } catch (error) {
    assert.equal((error as { code?: string }).code, "CROSS_SITE_REQUEST");
    return true;
  }
}

describe("checkCrossSite", () => {
  it("lets reads through whatever their origin", () => {
    assert.equal(refused("GET", { "sec-fetch-site": "cross-site", origin: "https://evil.example" }), false);
  });

  it("trusts Fetch Metadata: same-origin and user-initiated pass, same-site and cross-site do not", () => {
    assert.equal(refused("POST", { "sec-fetch-site": "same-origin" }), false);
    assert.equal(refused("POST", { "sec-fetch-site": "none" }), false);
    assert.equal(refused("POST", { "sec-fetch-site": "same-site" }), true, "another Databricks App shares the site");
    assert.equal(refused("DELETE", { "sec-fetch-site": "cross-site" }), true);
  });

  it("compares Origin with the host the request was addressed to, preferring X-Forwarded-Host", () => {
    assert.equal(refused("POST", { host: "gw:8000", origin: "http://gw:8000" }), false);
    assert.equal(
      refused("POST", { host: "127.0.0.1:5000", "x-forwarded-host": "app.databricksapps.com", origin: "https://app.databricksapps.com" }),
      false,
    );
    assert.equal(refused("POST", { host: "gw:8000", origin: "http://evil:8000" }), true);
    assert.equal(refused("PUT", { host: "gw:8000", origin: "null" }), true);
    assert.equal(refused("PATCH", { host: "gw:8000", origin: "not a url" }), true);
  });

  it("lets programs without browser headers through", () => {
    assert.equal(refused("POST", { host: "gw:8000", "user-agent": "mlflow-python-client" }), false);
  });
});
