import assert from "node:assert/strict";
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { describe, it } from "node:test";
import { GatewayError } from "../../../src/errors.js";
import { sendError } from "../../../src/request/send-error.js";

function exchange(accept: string): { req: IncomingMessage; res: ServerResponse; body: () => string } {
  const req = new IncomingMessage(new Socket());
  req.headers = { accept };
  const res = new ServerResponse(req);
  const chunks: string[] = [];
  res.write = ((chunk: string) => (chunks.push(String(chunk)), true)) as ServerResponse["write"];
  res.end = ((chunk?: string) => {
    if (chunk) chunks.push(String(chunk));
    return res;
  }) as ServerResponse["end"];
  return { req, res, body: () => chunks.join("") };
}

describe("sendError", () => {
  const unavailable = new GatewayError("CHILD_NOT_READY", "MLflow is starting <soon>.", { retryAfterSeconds: 3 });

  it("answers API paths with MLflow's error shape, the request id and Retry-After", () => {
    const { req, res, body } = exchange("text/html");
    sendError(req, res, unavailable, { requestId: "r-1", path: "/api/2.0/mlflow/runs/get" });
    assert.equal(res.statusCode, 503);
    assert.equal(res.getHeader("Retry-After"), "3");
    assert.equal(res.getHeader("Content-Type"), "application/json");
    assert.deepEqual(JSON.parse(body()), {
      error_code: "TEMPORARILY_UNAVAILABLE",
      message: "MLflow is starting <soon>.",
      gateway_error: "CHILD_NOT_READY",
      request_id: "r-1",
    });
  });

  it("answers a browser page with readable, escaped HTML that refreshes itself", () => {
    const { req, res, body } = exchange("text/html,application/xhtml+xml");
    sendError(req, res, unavailable, { requestId: "r-2", path: "/" });
    assert.equal(res.getHeader("Content-Type"), "text/html; charset=utf-8");
    assert.match(body(), /<h1>MLflow is starting<\/h1>/);
    assert.match(body(), /MLflow is starting &#60;soon&#62;\./);
    assert.match(body(), /http-equiv="refresh" content="3"/);
  });

  it("carries the error's own headers, such as Allow", () => {
    const { req, res } = exchange("*/*");
    sendError(req, res, new GatewayError("METHOD_NOT_ALLOWED", "no", { headers: { Allow: "POST" } }), { requestId: "r", path: "/api/x" });
    assert.equal(res.statusCode, 405);
    assert.equal(res.getHeader("Allow"), "POST");
  });
});
