// Runtime fault injection. Tests flip these knobs to see how the gateway
// behaves when Databricks is slow, throttles, fails or loses its OAuth
// endpoints. The error bodies are the ones Databricks' front end returns, so
// retry logic in the SDK and in MLflow reacts as it would in production.

import type { Request, RequestHandler, Response } from "express";
import { sendDatabricksError } from "./errors.js";

export interface CountedFault {
  /** How many matching calls fail; every matching call while set when omitted. */
  count?: number;
  /** Only calls whose path starts with this prefix (default: every /api call). */
  pathPrefix?: string;
}

export interface RateLimitFault extends CountedFault {
  /**
   * Value of the Retry-After header. Unset by default: Databricks does not always send
   * one (the SDK's retry customizer defaults to 1 s when it is missing,
   * databricks/sdk/errors/customizer.py), so clients must cope without it.
   */
  retryAfterSeconds?: number;
  /**
   * error_code of the answer (default REQUEST_LIMIT_EXCEEDED, "... RPC token bucket limit has
   * been exceeded.", as ssc-sp/datahub-portal#362 quotes; RESOURCE_EXHAUSTED is the other one seen).
   */
  errorCode?: "REQUEST_LIMIT_EXCEEDED" | "RESOURCE_EXHAUSTED";
}

/**
 * How the workspace refuses a token it does not accept (expired, unknown key, revoked
 * PAT). Databricks has answered 403 with an HTML page ("Error 403 Invalid access token.",
 * DataThirstLtd/databricks.vsts.tools#26), 403 with JSON carrying an integer error_code
 * (databricks-sdk-go#873, #917), and 401 JSON. A missing credential is always 401 JSON.
 */
export type TokenRefusalShape = "html-403" | "json-403" | "json-401";

export interface ServerErrorFault extends CountedFault {
  /** 500 INTERNAL_ERROR or 503 TEMPORARILY_UNAVAILABLE (default 503). */
  status?: 500 | 503;
}

export interface FaultSettings {
  /** Delay added before every /api, OAuth and blob answer. */
  latencyMs?: number;
  /** Restrict latency to paths with this prefix. */
  latencyPathPrefix?: string;
  rateLimit?: RateLimitFault;
  serverError?: ServerErrorFault;
  /** POST /oidc/v1/token answers 503. */
  tokenEndpointDown?: boolean;
  /** The JWKS endpoints answer 503. */
  jwksDown?: boolean;
  /** How a rejected token is answered (default "html-403", the hardest for a client to read). */
  tokenRefusal?: TokenRefusalShape;
  /**
   * Error answers (the server errors above, and the token endpoint while it is down) quote the
   * request's credentials back: its Authorization header and, at the token endpoint, its form
   * body with the client secret. No Databricks answer is known to do this; it is the worst case
   * a misbehaving proxy or service could produce, so the gateway's redaction is tested against
   * it (test/integration/databricks-failures.test.ts).
   */
  echoCredentials?: boolean;
}

export class FaultController {
  private settings: FaultSettings = {};

  /** Merges new settings over the current ones. */
  set(settings: FaultSettings): void {
    this.settings = { ...this.settings, ...settings };
  }

  clear(): void {
    this.settings = {};
  }

  get current(): Readonly<FaultSettings> {
    return this.settings;
  }

  tokenEndpointDown(): boolean {
    return this.settings.tokenEndpointDown === true;
  }

  jwksDown(): boolean {
    return this.settings.jwksDown === true;
  }

  tokenRefusal(): TokenRefusalShape {
    return this.settings.tokenRefusal ?? "html-403";
  }

  /** Applies latency to any path; mounted first so every surface is slowed. */
  latency(): RequestHandler {
    return (req, _res, next) => {
      const { latencyMs, latencyPathPrefix } = this.settings;
      if (!latencyMs || (latencyPathPrefix && !req.path.startsWith(latencyPathPrefix))) {
        next();
        return;
      }
      setTimeout(next, latencyMs);
    };
  }

  /** Throttling and server errors for authenticated /api calls. */
  apiFaults(): RequestHandler {
    return (req, res, next) => {
      if (this.take("rateLimit", req)) {
        const { retryAfterSeconds, errorCode = "REQUEST_LIMIT_EXCEEDED" } = this.settings.rateLimit ?? {};
        if (retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(retryAfterSeconds));
        const message =
          errorCode === "REQUEST_LIMIT_EXCEEDED"
            ? `${req.method} ${req.path} RPC token bucket limit has been exceeded.`
            : "Too many requests. Please wait a moment and try again. If the issue persists, consider adjusting your request frequency or reaching out to support for assistance.";
        sendDatabricksError(res, 429, errorCode, message);
        return;
      }
      if (this.take("serverError", req)) {
        this.sendServerError(res, this.settings.serverError?.status ?? 503, req.path, this.echoOf(req));
        return;
      }
      next();
    };
  }

  /** What an echoing error quotes of the request ("" unless echoCredentials is set). */
  echoOf(req: Request): string {
    if (this.settings.echoCredentials !== true) return "";
    const form =
      typeof req.body === "object" && req.body !== null && !Buffer.isBuffer(req.body)
        ? new URLSearchParams(req.body as Record<string, string>).toString()
        : "";
    return ` (request: Authorization: ${req.headers.authorization ?? "none"}${form === "" ? "" : `; body: ${form}`})`;
  }

  private sendServerError(res: Response, status: number, path: string, echo: string): void {
    if (status === 500) {
      sendDatabricksError(res, 500, "INTERNAL_ERROR", `Internal error occurred. Please try again later.${echo}`);
    } else {
      sendDatabricksError(res, 503, "TEMPORARILY_UNAVAILABLE", `The service at ${path} is temporarily unavailable. Please try again later.${echo}`);
    }
  }

  /** True when this call is hit by the fault; consumes one from its count. */
  private take(kind: "rateLimit" | "serverError", req: Request): boolean {
    const fault = this.settings[kind];
    if (!fault) return false;
    if (fault.pathPrefix && !req.originalUrl.startsWith(fault.pathPrefix)) return false;
    if (fault.count === undefined) return true;
    if (fault.count <= 0) return false;
    this.settings = { ...this.settings, [kind]: { ...fault, count: fault.count - 1 } };
    return true;
  }
}
