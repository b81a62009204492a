import assert from "node:assert/strict";
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { describe, it } from "node:test";
import { GatewayError } from "../../../src/errors.js";
import { composePipeline, type Stage } from "../../../src/http/pipeline.js";

function exchange(): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  return { req, res: new ServerResponse(req) };
}

describe("composePipeline", () => {
  it("runs the stages in order until one answers", () => {
    const seen: string[] = [];
    const stage =
      (name: string, answers = false): Stage =>
      (_req, _res, next) => {
        seen.push(name);
        if (!answers) next();
      };
    const errors: unknown[] = [];
    const { req, res } = exchange();
    composePipeline([stage("a"), stage("b"), stage("c", true), stage("d")], (error) => errors.push(error))(req, res);
    assert.deepEqual(seen, ["a", "b", "c"]);
    assert.deepEqual(errors, []);
  });

  it("skips to the error stage with an error passed to next, thrown, or raised later", async () => {
    const refused = new GatewayError("POLICY_DENIED", "no");
    for (const failing of [
      ((_req, _res, next) => next(refused)) as Stage,
      (() => {
        throw refused;
      }) as Stage,
      ((_req, _res, next) => void Promise.reject(refused).catch(next)) as Stage,
    ]) {
      const errors: unknown[] = [];
      let after = false;
      const { req, res } = exchange();
      composePipeline([failing, () => (after = true)], (error) => errors.push(error))(req, res);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(errors, [refused]);
      assert.equal(after, false, "no stage after the failing one runs");
    }
  });

  it("reports a pipeline that ends unanswered, and only the first of two errors", () => {
    const errors: unknown[] = [];
    const { req, res } = exchange();
    composePipeline([(_req, _res, next) => next()], (error) => errors.push(error))(req, res);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as GatewayError).code, "INTERNAL");

    const twice: unknown[] = [];
    const second = exchange();
    composePipeline(
      [
        (_req, _res, next) => {
          next(new GatewayError("POLICY_DENIED", "first"));
          next(new GatewayError("INTERNAL", "second"));
        },
      ],
      (error) => twice.push(error),
    )(second.req, second.res);
    assert.deepEqual(
      twice.map((e) => (e as GatewayError).message),
      ["first"],
    );
  });

  it("cuts the connection when the error stage itself fails, instead of crashing the gateway", () => {
    const { req, res } = exchange();
    composePipeline(
      [
        () => {
          throw new Error("boom");
        },
      ],
      () => {
        throw new Error("error stage broke");
      },
    )(req, res);
    assert.equal(res.destroyed, true);
  });
});
