// The emulator's record of every request it receives (WorkspaceEmulator.calls): who sent
// it (the principal its bearer token proved, or the principal a signed URL was issued to),
// how many body bytes arrived and how it ended. Tests use it to prove which identity reached
// the workspace, and that every byte written into storage came from the service principal.
// Never a token: the path is kept without its query, where signed URLs carry signatures and
// multipart uploads their session tokens.

import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";
import type { CallerLocals, EmulatorContext } from "./context.js";
import type { CallRecord } from "./types.js";

const bodyBytes = new WeakMap<IncomingMessage, { bytes: number }>();

/**
 * Counts a request's body bytes as the HTTP parser hands them over. Called when the request
 * arrives, before any middleware: a "data" listener would set the stream flowing before the
 * route that reads the body is attached (auth is asynchronous) and drop bytes, so this wraps
 * the request's own push(), which node's parser calls once per body chunk
 * (lib/_http_common.js parserOnBody).
 */
export function countBodyBytes(req: IncomingMessage): void {
  const counter = { bytes: 0 };
  bodyBytes.set(req, counter);
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk instanceof Uint8Array) counter.bytes += chunk.byteLength;
    else if (typeof chunk === "string") counter.bytes += Buffer.byteLength(chunk, encoding);
    return push(chunk, encoding);
  };
}

function surfaceOf(path: string): CallRecord["surface"] {
  if (path === "/api" || path.startsWith("/api/")) return "api";
  if (path === "/oidc/v1/token") return "oauth";
  if (path.startsWith("/blob/")) return "blob";
  if (path.startsWith("/.well-known/") || path.startsWith("/oidc/")) return "discovery";
  return "other";
}

/** Appends a CallRecord for every request once its answer is sent or its connection closes. */
export function recordCalls(ctx: EmulatorContext): RequestHandler {
  return (req, res, next) => {
    const time = new Date().toISOString();
    // originalUrl without the query: queries of signed URLs carry signatures.
    const path = req.originalUrl.split("?")[0] ?? req.originalUrl;
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      const locals = res.locals as CallerLocals;
      const signer = locals.signedFor;
      ctx.calls.push({
        time,
        method: req.method,
        path,
        surface: surfaceOf(path),
        principalId: locals.principal?.id ?? null,
        principalName: locals.principal?.name ?? null,
        principalKind: locals.principal?.kind ?? null,
        credential: locals.credential ?? "none",
        signedFor: signer ? { principalId: signer.id, principalName: signer.name, principalKind: signer.kind } : null,
        bytesIn: bodyBytes.get(req)?.bytes ?? 0,
        status: res.statusCode,
        finished: res.writableFinished,
      });
    };
    // "finish": the answer went out. "close" without "finish": the connection ended first,
    // e.g. a client that gave up half-way through an upload; it is recorded all the same.
    res.once("finish", record);
    res.once("close", record);
    next();
  };
}
