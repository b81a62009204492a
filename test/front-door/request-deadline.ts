/**
 * The Databricks Apps proxy's time limit per request (about 120 s; shared/notes/databricks-apps.md,
 * "Proxy limits"). A request is finished once its body was received AND its answer fully sent;
 * one that is not finished within the limit is cut: answered 504 with a small JSON error when
 * no answer was started, else its connection is destroyed mid-answer. The upstream request is
 * aborted either way, through the signal handed to it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** The Apps proxy's limit, per request. */
export const DEFAULT_REQUEST_TIME_LIMIT_MS = 120_000;

export interface RequestDeadline {
  /** Aborted when the request is cut: pass it to the upstream request. */
  readonly signal: AbortSignal;
  /** The request was cut (504 or a destroyed connection). */
  readonly cutOff: boolean;
  /** The request finished, was cut, or its client went away. */
  readonly settled: boolean;
  /** Called once when the request settles, with how long it took from arrival. */
  onSettled(listener: (durationMs: number, cutOff: boolean) => void): void;
  /** Stops watching without cutting (the front door is closing). */
  cancel(): void;
}

/** Throws when the limit is not a positive number of milliseconds. */
export function checkRequestTimeLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_REQUEST_TIME_LIMIT_MS;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new Error(
      `startFrontDoor: requestTimeLimitMs must be a positive number of milliseconds, got ${typeof value === "number" ? String(value) : (JSON.stringify(value) ?? typeof value)}; omit it for the Apps proxy's ${DEFAULT_REQUEST_TIME_LIMIT_MS}.`,
    );
  }
  return value;
}

/** Starts the clock on a request as it arrives. */
export function startRequestDeadline(req: IncomingMessage, res: ServerResponse, limitMs: number): RequestDeadline {
  const startedAt = performance.now();
  const controller = new AbortController();
  const listeners: Array<(durationMs: number, cutOff: boolean) => void> = [];
  let bodyReceived = req.complete;
  let answerSent = false;
  let settled = false;
  let cutOff = false;

  const settle = (): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    const durationMs = performance.now() - startedAt;
    for (const listener of listeners) listener(durationMs, cutOff);
  };

  const cut = (): void => {
    if (settled) return;
    cutOff = true;
    controller.abort(new Error(`request time limit of ${limitMs} ms reached`));
    if (res.headersSent) {
      // Half an answer cannot be taken back: the client sees its connection end.
      res.destroy();
    } else {
      const body = JSON.stringify({ error_code: "DEADLINE_EXCEEDED", message: `The request did not finish within ${limitMs} ms.` });
      // The connection closes after the answer: an upload may still be arriving on it.
      res.writeHead(504, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" }).end(body);
    }
    settle();
  };
  const timer = setTimeout(cut, limitMs);

  req.once("end", () => {
    bodyReceived = true;
    if (answerSent) settle();
  });
  res.once("finish", () => {
    answerSent = true;
    if (bodyReceived) settle();
  });
  // The client went away before the end: over, though not cut by the front door.
  res.once("close", () => {
    if (!answerSent) settle();
  });

  return {
    signal: controller.signal,
    get cutOff() {
      return cutOff;
    },
    get settled() {
      return settled;
    },
    onSettled(listener) {
      listeners.push(listener);
    },
    cancel() {
      clearTimeout(timer);
    },
  };
}
