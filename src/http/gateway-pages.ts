import type { IncomingMessage, ServerResponse } from "node:http";
import express from "express";
import type { AuditTrail } from "../audit/audit-trail.js";
import { GatewayError } from "../errors.js";
import { ADMIN_PAGES, ADMIN_PREFIX, serveAuditEvents } from "./admin-pages.js";
import { GATEWAY_ENDPOINTS, type GatewayEndpointsOptions, sendLiveness, sendMetrics, sendReadiness, sendVersion } from "./gateway-endpoints.js";
import type { Next } from "./pipeline.js";
import { contextOf } from "../request/request-context.js";

/** Serves one of the gateway's own pages, or passes a GatewayError (404, 405) to `next`. */
export type GatewayPages = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/**
 * The gateway's own pages under /-/ (probes, version, metrics, the admins' audit viewer),
 * routed by Express. MLflow's traffic never comes here: it takes the pipeline's plain
 * path (pipeline.ts). Only these pages pay Express's per-request cost.
 *
 * The pipeline hands probes over before identity and admin pages only after the policy
 * stage allowed an admin. Routing is case-sensitive and strict so that no spelling of a
 * path reaches an admin page by the early door (`/-/ADMIN/audit` would otherwise match
 * `/-/admin/audit`), and each admin page checks the decision again all the same.
 */
export function createGatewayPages(options: GatewayEndpointsOptions, audit: AuditTrail): GatewayPages {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("case sensitive routing", true);
  app.set("strict routing", true);
  // Admin pages read their filters with URLSearchParams; nothing else takes a query.
  app.set("query parser", false);

  const [live, ready, version, metrics] = GATEWAY_ENDPOINTS;
  app.route(live).get((_req, res) => sendLiveness(res));
  app.route(ready).get((_req, res) => sendReadiness(res, options));
  app.route(version).get((_req, res) => sendVersion(res, options));
  app.route(metrics).get(async (_req, res) => sendMetrics(res, options));
  const [auditPage, auditEvents] = ADMIN_PAGES;
  app.route(auditPage).get(adminOnly, (req, res) => serveAuditEvents(req.url, res, audit, "html"));
  app.route(auditEvents).get(adminOnly, (req, res) => serveAuditEvents(req.url, res, audit, "json"));
  for (const path of [...GATEWAY_ENDPOINTS, ...ADMIN_PAGES]) app.route(path).all(methodNotAllowed);
  app.use(notFound);

  return (req, res, next) => {
    // Express takes Node's objects and gives them its own prototypes on entry.
    app(req as express.Request, res as express.Response, (error?: unknown) =>
      next(error ?? new GatewayError("INTERNAL", "No gateway page answered.")),
    );
  };
}

function adminOnly(req: IncomingMessage, _res: ServerResponse, next: Next): void {
  const decision = contextOf(req).decision;
  if (decision?.allow === true && decision.rule === "admin") return next();
  next(new GatewayError("POLICY_DENIED", "Only the gateway's admins may read the audit trail (GATEWAY_ADMINS)."));
}

function methodNotAllowed(req: IncomingMessage, _res: ServerResponse, next: Next): void {
  next(
    new GatewayError("METHOD_NOT_ALLOWED", `${req.method ?? "?"} is not allowed on ${contextOf(req).path.slice(0, 128)}; allowed: GET, HEAD.`, {
      headers: { Allow: "GET, HEAD" },
    }),
  );
}

function notFound(req: IncomingMessage, _res: ServerResponse, next: Next): void {
  const path = contextOf(req).path.slice(0, 128);
  next(
    path.startsWith(ADMIN_PREFIX)
      ? new GatewayError("ROUTE_NOT_FOUND", `No admin page at ${path}. Admin pages: ${ADMIN_PAGES.join(", ")}.`)
      : new GatewayError("ROUTE_NOT_FOUND", `No gateway endpoint at ${path}. Gateway endpoints: ${GATEWAY_ENDPOINTS.join(", ")}.`),
  );
}
