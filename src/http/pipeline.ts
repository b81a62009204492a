import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { GatewayError } from "../errors.js";

/** Continue with the next stage, or (with an error) skip to the error stage. */
export type Next = (error?: unknown) => void;
/** One step of the request pipeline: answers the request, or calls `next` exactly once. */
export type Stage = (req: IncomingMessage, res: ServerResponse, next: Next) => void;
/** Turns any error a stage raised (thrown, or passed to `next`) into the answer. */
export type ErrorStage = (error: unknown, req: IncomingMessage, res: ServerResponse) => void;

/**
 * Runs the stages in order on Node's own request and response objects. This is the
 * middleware contract Express implements, without Express's per-request cost (it swaps
 * the prototypes of both objects and walks its router for every request: about a
 * quarter of a millisecond of CPU here, more than everything the gateway decides; see
 * docs/benchmark.md). Express still serves the gateway's own pages (gateway-pages.ts).
 */
export function composePipeline(stages: readonly Stage[], onError: ErrorStage): RequestListener {
  return function pipeline(req, res) {
    let index = 0;
    let failed = false;
    const fail = (error: unknown): void => {
      // A stage that reports a second error after the first has been answered changes nothing.
      if (failed) return;
      failed = true;
      try {
        onError(error, req, res);
      } catch {
        res.destroy();
      }
    };
    const next: Next = (error) => {
      if (error !== undefined && error !== null) return fail(error);
      const stage = stages[index];
      index += 1;
      if (stage === undefined) {
        fail(new GatewayError("INTERNAL", "The gateway's pipeline ended without an answer."));
        return;
      }
      try {
        stage(req, res, next);
      } catch (error) {
        fail(error);
      }
    };
    next();
  };
}
