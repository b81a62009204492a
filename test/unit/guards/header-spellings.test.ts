import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GatewayError } from "../../../src/errors.js";
import { checkHeaderSpellings } from "../../../src/guards/header-spellings.js";

function refusal(raw: string[]): GatewayError {
  try {
    checkHeaderSpellings(raw);
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error;
  }
  assert.fail(`accepted ${raw.join(" ")}`);
}

describe("checkHeaderSpellings", () => {
  for (const name of [
    "X_Forwarded_Email",
    "x_forwarded_user",
    "X-Forwarded_Preferred-Username",
    "X_REAL_IP",
    "Proxy_Authorization",
    "X_Forwarded_Access_Token",
    "x_mlflow_workspace",
  ]) {
    it(`refuses ${name}, which WSGI would read as a protected header`, () => {
      const error = refusal(["Host", "gw", name, "alice@example.com"]);
      assert.equal(error.code, "HEADER_REJECTED");
      assert.equal(error.status, 400);
      assert.ok(error.message.includes(name));
    });
  }

  it("refuses a forgery even when the dash spelling is present too", () => {
    assert.equal(refusal(["X-Forwarded-Email", "bob@example.com", "X_Forwarded_Email", "alice@example.com"]).code, "HEADER_REJECTED");
  });

  it("drops other underscore headers and keeps ordinary ones", () => {
    const verdict = checkHeaderSpellings(["Content-Type", "application/json", "My_Custom", "1", "X-Forwarded-Email", "a@b"]);
    assert.deepEqual(verdict.drop, ["my_custom"]);
  });

  it("bounds the header name it echoes", () => {
    const error = refusal([`X_Forwarded_${"A".repeat(5_000)}`, "v"]);
    assert.ok(error.message.length < 400);
  });
});
