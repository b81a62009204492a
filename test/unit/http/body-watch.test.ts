import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { type BodyLimits, type BodyViolation, BodyWatch } from "../../../src/http/body-watch.js";

// The watch reads only the socket's byte count and the clock: both are driven here.
function fakeRequest(): { req: IncomingMessage; receive: (bytes: number) => void; finish: () => void } {
  const socket = { bytesRead: 500, destroyed: false };
  const req = { complete: false, destroyed: false, socket } as unknown as IncomingMessage;
  return {
    req,
    receive: (bytes) => (socket.bytesRead += bytes),
    finish: () => ((req as { complete: boolean }).complete = true),
  };
}

function setUp(limits: BodyLimits) {
  let now = 0;
  const watch = new BodyWatch({ now: () => now });
  const seen: BodyViolation[] = [];
  const { req, receive, finish } = fakeRequest();
  watch.watch(req, limits, (violation) => seen.push(violation));
  const advance = (ms: number): void => {
    now += ms;
    watch.check();
  };
  return { watch, seen, receive, finish, advance };
}

describe("the body watch", () => {
  it("cuts a body that stops arriving for longer than its idle limit, once", () => {
    const { watch, seen, receive, advance } = setUp({ idleMs: 10_000, totalMs: undefined, maxBytes: undefined });
    advance(9_000);
    receive(10);
    advance(9_000);
    assert.deepEqual(seen, [], "progress re-arms the idle limit");
    advance(2_000);
    advance(5_000);
    assert.deepEqual(seen, []);
    advance(6_000);
    assert.deepEqual(seen, ["idle"]);
    advance(60_000);
    assert.deepEqual(seen, ["idle"], "reported once");
    assert.equal(watch.size, 0);
    watch.stop();
  });

  it("cuts a body that trickles in (a byte now and then) when its deadline passes", () => {
    const { watch, seen, receive, advance } = setUp({ idleMs: 10_000, totalMs: 30_000, maxBytes: undefined });
    for (let second = 0; second < 29; second += 1) {
      receive(1);
      advance(1_000);
    }
    assert.deepEqual(seen, []);
    receive(1);
    advance(2_000);
    assert.deepEqual(seen, ["slow"]);
    watch.stop();
  });

  it("cuts a body that grows past its cap (chunked bodies declare no length), but not one just under it", () => {
    const under = setUp({ idleMs: 10_000, totalMs: undefined, maxBytes: 1_000_000 });
    under.receive(1_000_000);
    under.advance(1_000);
    assert.deepEqual(under.seen, []);
    under.watch.stop();
    const over = setUp({ idleMs: 10_000, totalMs: undefined, maxBytes: 1_000_000 });
    over.receive(1_200_000);
    over.advance(1_000);
    assert.deepEqual(over.seen, ["too-large"]);
    over.watch.stop();
  });

  it("forgets a body once it is complete, and stops its timer when nothing is watched", () => {
    const { watch, seen, finish, advance } = setUp({ idleMs: 1_000, totalMs: 1_000, maxBytes: 1 });
    finish();
    advance(5_000);
    assert.deepEqual(seen, []);
    assert.equal(watch.size, 0);
  });

  it("does not watch a request whose body has already arrived", () => {
    const watch = new BodyWatch();
    const { req, finish } = fakeRequest();
    finish();
    watch.watch(req, { idleMs: 1, totalMs: 1, maxBytes: 1 }, () => assert.fail("no violation expected"));
    assert.equal(watch.size, 0);
  });
});
