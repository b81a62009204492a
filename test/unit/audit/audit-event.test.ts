import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { auditString } from "../../../src/audit/audit-event.js";

describe("auditString", () => {
  it("turns CR, LF, other controls and JSON line separators into spaces, and bounds length", () => {
    const forged = 'run\n{"action":"DeleteRun"}\r\u2028x';
    const clean = auditString(forged);
    assert.ok(!/[\r\n\u2028]/.test(clean));
    assert.equal(JSON.stringify({ v: clean }).split("\n").length, 1);
    assert.equal(auditString("x".repeat(2_000)).length, 515);
  });
});
