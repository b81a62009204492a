// Bearer-token check for the workspace REST API. Every /api call needs a token
// minted and signed by this workspace (or a configured PAT); the principal it
// proves goes into res.locals, where the call log (call-log.ts) reads it, so
// tests can prove which principal and which kind of credential the gateway
// used, without ever keeping a raw token.

import type { Request, RequestHandler, Response } from "express";
import { errors as joseErrors } from "jose";
import { type CallerLocals, type EmulatorContext, audienceOf, issuerOf } from "./context.js";
import { sendDatabricksError } from "./errors.js";
import type { Principal } from "./principals.js";
import type { CredentialKind } from "./types.js";

/** `missing`: no usable credential was sent (always 401 JSON); otherwise the token was refused. */
type AuthResult = { ok: true; principal: Principal; credential: CredentialKind } | { ok: false; missing: boolean; message: string };

function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

async function authenticate(ctx: EmulatorContext, req: Request): Promise<AuthResult> {
  const token = bearerToken(req);
  if (!token) {
    return { ok: false, missing: true, message: "Credential was not sent or was of an unsupported type for this API." };
  }
  if (token.startsWith("dapi")) {
    const principal = ctx.directory.principalForPat(token);
    if (!principal?.active) return { ok: false, missing: false, message: "Invalid access token." };
    return { ok: true, principal, credential: "pat" };
  }
  try {
    const payload = await ctx.keys.verify(token, issuerOf(ctx), audienceOf(ctx));
    const principal = typeof payload.sub === "string" ? ctx.directory.find(payload.sub) : undefined;
    if (!principal?.active) return { ok: false, missing: false, message: "Invalid Token: unknown subject." };
    return { ok: true, principal, credential: "oauth" };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { ok: false, missing: false, message: "Token is expired." };
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      return { ok: false, missing: false, message: `Invalid Token: ${err.claim} claim check failed.` };
    }
    return { ok: false, missing: false, message: "Invalid access token." };
  }
}

/** Answers a refused credential in the shape the fault knobs choose (see TokenRefusalShape). */
function refuse(ctx: EmulatorContext, req: Request, res: Response, result: { missing: boolean; message: string }): void {
  const shape = result.missing ? "json-401" : ctx.faults.tokenRefusal();
  if (shape === "json-401") return sendDatabricksError(res, 401, "UNAUTHENTICATED", result.message);
  res.setHeader("X-Databricks-Reason-Phrase", "Invalid access token.");
  if (shape === "json-403") {
    // The integer error_code is what the workspace sent (databricks-sdk-go#917).
    res.status(403).json({ error_code: 403, message: "Invalid access token." });
    return;
  }
  res
    .status(403)
    .type("text/html; charset=iso-8859-1")
    .send(
      `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n<title>Error 403 Invalid access token.</title>\n</head>\n<body><h2>HTTP ERROR 403</h2>\n<p>Problem accessing ${(req.originalUrl.split("?")[0] ?? "").replace(/[<>&]/g, "")}. Reason:\n<pre>    Invalid access token.</pre></p>\n</body>\n</html>\n`,
    );
}

/** Rejects unauthenticated /api calls with 401 and sets res.locals.principal. */
export function requireBearer(ctx: EmulatorContext): RequestHandler {
  return (req, res, next) => {
    authenticate(ctx, req)
      .then((result) => {
        if (!result.ok) {
          refuse(ctx, req, res, result);
          return;
        }
        const locals = res.locals as CallerLocals;
        locals.principal = result.principal;
        locals.credential = result.credential;
        // Databricks answers every authenticated API call with the workspace id.
        res.setHeader("x-databricks-org-id", ctx.workspaceId);
        next();
      })
      .catch(next);
  };
}

/** 403 for principals with a matching deny rule. */
export function enforceDenyRules(ctx: EmulatorContext): RequestHandler {
  return (req, res, next) => {
    const principal = (res.locals as CallerLocals).principal;
    const path = req.originalUrl.split("?")[0] ?? "";
    const rule = ctx.deny.find(
      (r) =>
        principal !== undefined &&
        (r.principal === principal.name || r.principal === principal.id) &&
        path.startsWith(r.pathPrefix) &&
        (!r.methods || r.methods.map((m) => m.toUpperCase()).includes(req.method)),
    );
    if (rule && principal) {
      sendDatabricksError(
        res,
        403,
        "PERMISSION_DENIED",
        `${principal.kind === "user" ? "User" : "Service principal"} ${principal.name} does not have permission to perform ${req.method} on ${path}.`,
      );
      return;
    }
    next();
  };
}
