import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { HEADERS_TIMEOUT_MS } from "../../src/http/serve.js";
import { type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";

const SLOW_CLIENTS = 50;

// The suite's shared gateway: the attack ends (every slow client cut) before the test does.
let gateway: SharedGateway;
before(async () => {
  gateway = await useSharedGateway();
});
after(async () => {
  await gateway?.release();
});

/** A slowloris client: a request line, then one header line a second, never the end of the headers. */
function slowHeaders(port: number): { socket: Socket; closed: Promise<{ afterMs: number; answer: string }> } {
  const socket = connect({ host: "127.0.0.1", port });
  const started = Date.now();
  let answer = "";
  let line = 0;
  socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
  socket.on("connect", () => socket.write("GET /api/2.0/mlflow/experiments/search?max_results=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  const drip = setInterval(() => {
    if (!socket.destroyed) socket.write(`X-Slow-${(line += 1)}: a\r\n`);
  }, 1_000);
  const closed = new Promise<{ afterMs: number; answer: string }>((resolve) => {
    socket.on("close", () => {
      clearInterval(drip);
      resolve({ afterMs: Date.now() - started, answer });
    });
    socket.on("error", () => undefined);
  });
  return { socket, closed };
}

describe("hostile slow clients", () => {
  it(`cuts clients that send headers slowly after ${HEADERS_TIMEOUT_MS / 1000} s, while a well-behaved client is served as usual`, async () => {
    const search = `${gateway.url}/api/2.0/mlflow/experiments/search?max_results=1`;
    const timed = async (): Promise<number> => {
      const begin = performance.now();
      const response = await fetch(search);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
      return performance.now() - begin;
    };
    const baseline: number[] = [];
    for (let i = 0; i < 10; i += 1) baseline.push(await timed());

    const port = Number(new URL(gateway.url).port);
    const attackers = Array.from({ length: SLOW_CLIENTS }, () => slowHeaders(port));
    const during: number[] = [];
    const deadline = Date.now() + HEADERS_TIMEOUT_MS - 1_000;
    while (Date.now() < deadline) {
      during.push(await timed());
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const results = await Promise.all(attackers.map((a) => a.closed));
    for (const { afterMs, answer } of results) {
      assert.ok(afterMs >= HEADERS_TIMEOUT_MS - 500 && afterMs <= HEADERS_TIMEOUT_MS + 3_000, `a slow client was cut after ${afterMs} ms`);
      assert.match(answer, /^HTTP\/1\.1 408 /);
    }
    const worst = Math.max(...during);
    const usual = Math.max(...baseline);
    // Loose on purpose (a shared 2-core machine): the point is "served as usual", not a benchmark.
    assert.ok(
      worst < Math.max(1_000, usual * 5),
      `a well-behaved call took ${worst.toFixed(0)} ms during the attack (at most ${usual.toFixed(0)} ms before)`,
    );
    assert.ok(during.length >= 20);
  });
});
