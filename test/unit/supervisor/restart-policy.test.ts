import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RestartPolicy } from "../../../src/supervisor/restart-policy.js";

const options = { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, crashLoopThreshold: 4, stableAfterMs: 10_000 };

describe("RestartPolicy", () => {
  it("backs off exponentially up to the maximum", () => {
    const policy = new RestartPolicy(options);
    const delays = [1, 2, 3, 4, 5, 6].map((t) => policy.recordFailure(t).delayMs);
    assert.deepEqual(delays, [100, 200, 400, 800, 1_000, 1_000]);
  });

  it("calls it a crash loop at the threshold, and keeps retrying at the maximum pace", () => {
    const policy = new RestartPolicy(options);
    const loops = [1, 2, 3, 4, 5].map((t) => policy.recordFailure(t).crashLoop);
    assert.deepEqual(loops, [false, false, false, true, true]);
    assert.equal(policy.consecutiveFailures, 5);
  });

  it("starts over after the child stayed ready long enough", () => {
    const policy = new RestartPolicy(options);
    policy.recordFailure(0);
    policy.recordFailure(1);
    policy.recordReady(1_000);
    const decision = policy.recordFailure(1_000 + options.stableAfterMs);
    assert.deepEqual(decision, { delayMs: 100, consecutiveFailures: 1, crashLoop: false });
  });

  it("does not forgive a child that died soon after becoming ready", () => {
    const policy = new RestartPolicy(options);
    policy.recordFailure(0);
    policy.recordReady(10);
    const decision = policy.recordFailure(20);
    assert.equal(decision.consecutiveFailures, 2);
    assert.equal(decision.delayMs, 200);
  });
});
