import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { API_BODY_IDLE_MS, MAX_HEADER_COUNT } from "../../src/http/limits-stage.js";
import { HEADERS_TIMEOUT_MS } from "../../src/http/serve.js";
import { DEFAULT_MAX_API_BODY_MB, DEFAULT_MAX_REQUESTS_PER_CLIENT } from "../../src/config/load-config.js";
import { type RawAnswer, rawExchange as rawExchangeWith } from "../support/raw-http.js";
import { SHARED_GATEWAY_MAX_CONNECTIONS, type SharedGateway, useSharedGateway } from "../support/shared-gateway.js";
import { waitFor, waitUntil } from "../support/wait-for.js";
import type { ErrorBody } from "../support/error-body.js";

// What one hostile client can make the gateway hold, on the suite's shared gateway (its
// connection cap is SHARED_GATEWAY_MAX_CONNECTIONS). Every attack ends (cut, or closed
// here) before its test does. Attackers connect from other loopback addresses (127.0.0.x),
// so the per-client limits see them as other clients than the well-behaved one.
let gateway: SharedGateway;
let port: number;
before(async () => {
  gateway = await useSharedGateway();
  port = Number(new URL(gateway.url).port);
});
after(async () => {
  await gateway?.release();
});

const SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1";

/** A raw exchange with the gateway from `localAddress` (see test/support/raw-http.ts). */
function rawExchange(parts: ReadonlyArray<string | Buffer | number>, options: { localAddress?: string } = {}): Promise<RawAnswer> {
  return rawExchangeWith(port, parts, options);
}

/** A slowloris client: a request line, then one header line a second, never the end of the headers. */
function slowHeaders(localAddress: string): Promise<RawAnswer> {
  const drip: Array<string | number> = [`GET ${SEARCH} HTTP/1.1\r\nHost: 127.0.0.1\r\n`];
  for (let line = 1; line <= 30; line += 1) drip.push(1_000, `X-Slow-${line}: a\r\n`);
  return rawExchange(drip, { localAddress });
}

/** A slow-body client: headers for a JSON call, a few bytes of its body, then nothing. */
function stalledBody(localAddress: string): Promise<RawAnswer> {
  const body = '{"experiment_ids":["0"],"max_results":1}';
  return rawExchange(
    [
      `POST /api/2.0/mlflow/runs/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body.slice(0, 5),
      API_BODY_IDLE_MS + 20_000,
    ],
    { localAddress },
  );
}

/** Times one search by the well-behaved client (keep-alive: its connection was opened before any attack). */
function timedSearch(agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const begin = performance.now();
    const req = request({ host: "127.0.0.1", port, path: SEARCH, agent }, (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode === 200) resolve(performance.now() - begin);
        else reject(new Error(`the well-behaved call answered ${res.statusCode}`));
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Measures the well-behaved client before and during an attack, and checks it was served as usual. */
async function servedAsUsualDuring<T>(attack: () => Promise<T>, windowMs: number): Promise<T> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const baseline: number[] = [];
    for (let i = 0; i < 10; i += 1) baseline.push(await timedSearch(agent));
    const attacking = attack();
    const during: number[] = [];
    const deadline = Date.now() + windowMs;
    while (Date.now() < deadline) {
      during.push(await timedSearch(agent));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await attacking;
    const worst = Math.max(...during);
    const usual = Math.max(...baseline);
    // Loose on purpose (a shared 2-core machine): the point is "served as usual", not a benchmark.
    assert.ok(
      worst < Math.max(1_000, usual * 5),
      `a well-behaved call took ${worst.toFixed(0)} ms during the attack (at most ${usual.toFixed(0)} ms before)`,
    );
    assert.ok(during.length >= 10, `only ${during.length} well-behaved calls during the attack`);
    return result;
  } finally {
    agent.destroy();
  }
}

function errorOf(answer: RawAnswer): ErrorBody {
  return JSON.parse(answer.body) as ErrorBody;
}

describe("hostile clients", () => {
  it(`cuts slow headers and stalled bodies after ${HEADERS_TIMEOUT_MS / 1000} s with 408, while a well-behaved client is served as usual`, async () => {
    const [headers, bodies] = await servedAsUsualDuring(
      () =>
        Promise.all([
          Promise.all(Array.from({ length: 40 }, () => slowHeaders("127.0.0.2"))),
          Promise.all(Array.from({ length: 20 }, () => stalledBody("127.0.0.3"))),
        ]),
      HEADERS_TIMEOUT_MS - 1_000,
    );
    for (const answer of headers) {
      assert.ok(
        answer.afterMs >= HEADERS_TIMEOUT_MS - 500 && answer.afterMs <= HEADERS_TIMEOUT_MS + 3_000,
        `a slow-header client was cut after ${answer.afterMs} ms`,
      );
      assert.equal(answer.status, 408);
    }
    for (const answer of bodies) {
      assert.ok(
        answer.afterMs >= API_BODY_IDLE_MS - 500 && answer.afterMs <= API_BODY_IDLE_MS + 3_000,
        `a stalled body was cut after ${answer.afterMs} ms`,
      );
      assert.equal(answer.status, 408, answer.head);
      assert.equal(errorOf(answer).gateway_error, "BODY_TIMEOUT");
      assert.match(answer.head, /\r\nconnection: close/i);
    }
  });

  it(`answers connections over the cap (${SHARED_GATEWAY_MAX_CONNECTIONS}) with 503 and Retry-After, keeps serving open connections and probes, and takes new ones once the flood ends`, async () => {
    const flood: Socket[] = [];
    try {
      const refused = await servedAsUsualDuring(async () => {
        // Idle connections up to (and past) the cap; each counts until it closes.
        for (let i = 0; i < SHARED_GATEWAY_MAX_CONNECTIONS + 20; i += 1) {
          const socket = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.4" });
          socket.on("error", () => undefined);
          flood.push(socket);
        }
        await Promise.all(
          flood.map((socket) => new Promise((resolve) => (socket.readyState === "open" ? resolve(undefined) : socket.once("connect", resolve)))),
        );
        const over = await rawExchange([`GET ${SEARCH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`], { localAddress: "127.0.0.5" });
        const probe = await rawExchange([`GET /-/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`], { localAddress: "127.0.0.5" });
        return { over, probe };
      }, 3_000);
      assert.equal(refused.over.status, 503, refused.over.head);
      assert.match(refused.over.head, /\r\nretry-after: 1\r\n/i);
      assert.match(refused.over.head, /\r\nconnection: close/i);
      assert.equal(errorOf(refused.over).gateway_error, "OVERLOADED");
      assert.equal(errorOf(refused.over).error_code, "TEMPORARILY_UNAVAILABLE");
      assert.equal(refused.probe.status, 200, "the liveness probe answers on an overflow connection");
    } finally {
      for (const socket of flood) socket.destroy();
    }
    // Closed connections free their places at once.
    await waitUntil(
      "the condition",
      async () => (await rawExchange([`GET ${SEARCH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`])).status === 200,
    );
  });

  it(`answers a client with ${DEFAULT_MAX_REQUESTS_PER_CLIENT} calls in flight 503 for the next one, while other clients are served`, async () => {
    // Each stalled body holds one call in flight; the client closes them itself at the end
    // (the gateway's cut of stalled bodies is the first test's).
    const body = '{"experiment_ids":["0"],"max_results":1}';
    const holding = Array.from({ length: DEFAULT_MAX_REQUESTS_PER_CLIENT }, () => {
      const socket = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.6" });
      socket.on("error", () => undefined);
      socket.write(
        `POST /api/2.0/mlflow/runs/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
      );
      return socket;
    });
    try {
      // Until every held call has passed identity (each takes its place then), the extra call may still pass.
      const extra = await waitFor("the client's calls in flight to reach the limit", async () => {
        const answer = await rawExchange([`GET ${SEARCH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`], { localAddress: "127.0.0.6" });
        return answer.status === 200 ? undefined : answer;
      });
      assert.equal(extra.status, 503, extra.head);
      assert.equal(errorOf(extra).gateway_error, "OVERLOADED");
      assert.match(errorOf(extra).message ?? "", /calls in progress/);
      assert.match(extra.head, /\r\nretry-after: 1\r\n/i);
      const other = await rawExchange([`GET ${SEARCH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`], { localAddress: "127.0.0.7" });
      assert.equal(other.status, 200);
    } finally {
      for (const socket of holding) socket.destroy();
    }
    // A call's place is freed when its connection closes.
    await waitUntil("the client's places freed", async () => {
      const answer = await rawExchange([`GET ${SEARCH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`], { localAddress: "127.0.0.6" });
      return answer.status === 200;
    });
  });

  it(`refuses bodies over ${DEFAULT_MAX_API_BODY_MB} MB (declared: before reading; chunked: as they grow) and more than ${MAX_HEADER_COUNT} header lines, while a well-behaved client is served as usual`, async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    const chunkedParts: Array<string | Buffer | number> = [
      `POST /api/2.0/mlflow/runs/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    ];
    // Up to twice the cap, at a pace the watch sees (it checks every second).
    for (let i = 0; i < DEFAULT_MAX_API_BODY_MB * 2; i += 1) chunkedParts.push(frame, i % 8 === 7 ? 300 : 0);
    const lines = Array.from({ length: MAX_HEADER_COUNT + 1 }, (_, i) => `X-Many-${i}: a\r\n`).join("");
    const [declared, chunked, headers] = await servedAsUsualDuring(
      () =>
        Promise.all([
          Promise.all(
            Array.from({ length: 20 }, () =>
              rawExchange(
                [
                  `POST /api/2.0/mlflow/runs/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${(DEFAULT_MAX_API_BODY_MB + 1) * 1024 * 1024}\r\n\r\n{"a":`,
                ],
                { localAddress: "127.0.0.8" },
              ),
            ),
          ),
          Promise.all(Array.from({ length: 3 }, () => rawExchange(chunkedParts, { localAddress: "127.0.0.9" }))),
          Promise.all(
            Array.from({ length: 20 }, () =>
              rawExchange([`GET ${SEARCH} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}\r\n`], { localAddress: "127.0.0.10" }),
            ),
          ),
        ]),
      3_000,
    );
    for (const answer of declared) {
      assert.equal(answer.status, 413);
      assert.equal(errorOf(answer).gateway_error, "BODY_TOO_LARGE");
      assert.match(answer.head, /\r\nconnection: close/i);
    }
    for (const answer of chunked) {
      assert.equal(answer.status, 413, answer.head);
      assert.equal(errorOf(answer).gateway_error, "BODY_TOO_LARGE");
    }
    for (const answer of headers) {
      assert.equal(answer.status, 431);
      assert.equal(errorOf(answer).gateway_error, "HEADERS_TOO_LARGE");
      assert.match(errorOf(answer).message ?? "", new RegExp(`at most ${MAX_HEADER_COUNT}`));
    }
  });
});
