import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cleanForLog, redactSecrets } from "../../../src/log/create-logger.js";

describe("redactSecrets", () => {
  it("masks credentials a child's error message may quote", () => {
    const line =
      "OperationalError postgresql://mlflow:hunter2@db:5432/x Authorization: Bearer abc.def-123 token dapi0123456789abcdef0123 jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl";
    const masked = redactSecrets(line);
    for (const secret of ["hunter2", "abc.def-123", "dapi0123456789abcdef0123", "eyJhbGciOiJSUzI1NiJ9"]) assert.ok(!masked.includes(secret), secret);
    assert.match(masked, /postgresql:\/\/mlflow:\*\*\*@db:5432\/x/);
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
