import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cleanForLog, redactSecrets, setKnownSecrets } from "../../../src/log/create-logger.js";

describe("redactSecrets", () => {
  it("masks credentials a child's error message may quote", () => {
    const line =
      "OperationalError postgresql://mlflow:hunter2@db:5432/x Authorization: Bearer abc.def-123 token dapi0123456789abcdef0123 jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl";
    const masked = redactSecrets(line);
    for (const secret of ["hunter2", "abc.def-123", "dapi0123456789abcdef0123", "eyJhbGciOiJSUzI1NiJ9"]) assert.ok(!masked.includes(secret), secret);
    assert.match(masked, /postgresql:\/\/mlflow:\*\*\*@db:5432\/x/);
  });

  it("masks secret form and JSON fields, basic credentials and Databricks OAuth secrets, as an echoing service would quote them", () => {
    const line =
      'failed (request: Authorization: Basic YWxpY2U6c2VjcmV0LXZhbHVl; body: grant_type=client_credentials&client_secret=s3cr3t-form&scope=all-apis) {"access_token": "opaque-token-1", "password":"pw-in-json"} dose0123456789abcdefABCDEF';
    const masked = redactSecrets(line);
    for (const secret of ["YWxpY2U6c2VjcmV0LXZhbHVl", "s3cr3t-form", "opaque-token-1", "pw-in-json", "dose0123456789abcdefABCDEF"]) {
      assert.ok(!masked.includes(secret), `${secret} in ${masked}`);
    }
    assert.match(masked, /grant_type=client_credentials&client_secret=\*\*\*&scope=all-apis/);
  });

  it("masks the configured secret values whatever their shape", () => {
    setKnownSecrets(["plain-looking-value-42", "short"]);
    try {
      assert.equal(redactSecrets("the service said plain-looking-value-42 twice: plain-looking-value-42"), "the service said *** twice: ***");
      assert.equal(redactSecrets("a short word"), "a short word", "values under 8 characters are not searched for");
    } finally {
      setKnownSecrets([]);
    }
  });

  it("leaves ordinary lines alone", () => {
    const line = "INFO mlflow.store.db.utils: Creating initial MLflow database tables at sqlite:////data/mlflow.db";
    assert.equal(redactSecrets(line), line);
  });
});

describe("cleanForLog", () => {
  it("turns control characters into spaces so a value cannot forge a log line, and bounds length", () => {
    assert.equal(cleanForLog('a\nb\r{"level":"error"}'), 'a b {"level":"error"}');
    assert.equal(cleanForLog("x".repeat(20), 5), "xxxxx...");
  });
});
