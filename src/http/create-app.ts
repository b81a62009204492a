import type { IncomingMessage as Request, RequestListener, ServerResponse as Response } from "node:http";
import { ATTRIBUTED_OPERATIONS, attributeRequest } from "../attribution/attribute-request.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import { GatewayError, isGatewayError } from "../errors.js";
import { displayName } from "../identity/identity.js";
import { assistantSetupAnswer } from "../guards/assistant.js";
import { checkCrossSite } from "../guards/cross-site.js";
import { classifyRoute } from "../guards/classify-route.js";
import { decodePath, pathOf } from "../guards/decode-path.js";
import { checkHeaderSpellings } from "../guards/header-spellings.js";
import { isCredentialOrIdentityHeader, readForwardedClaims } from "../identity/forwarded-headers.js";
import type { IdentityResolver } from "../identity/resolve-identity.js";
import type { BackendStatus } from "../databricks/backend-check.js";
import type { AccessLog } from "../log/access-log.js";
import type { Logger } from "../log/create-logger.js";
import type { GatewayMetrics } from "../metrics/metrics.js";
import type { Authorizer } from "../policy/authorizer.js";
import type { ObjectLookup } from "../policy/object-lookup.js";
import { type MlflowProxy, RETRY_AFTER_SECONDS } from "../proxy/create-proxy.js";
import type { RouteTable } from "../routes/route-table.js";
import type { Supervisor } from "../supervisor/supervisor.js";
import { logAccess } from "./access-log.js";
import { ADMIN_PREFIX } from "./admin-pages.js";
import { auditGate, auditScope } from "./audit-stage.js";
import { BODY_SAMPLE_LIMIT } from "../request/body-observer.js";
import { GATEWAY_PREFIX, type GatewayEndpointsOptions, sendJson } from "./gateway-endpoints.js";
import { createGatewayPages, type GatewayPages } from "./gateway-pages.js";
import { experimentNames, type ExperimentNamesDependencies } from "./experiment-name-stage.js";
import { type ArtifactStageDependencies, artifactLocations, artifacts } from "./artifact-stage.js";
import type { BodyWatch } from "./body-watch.js";
import type { Capacity } from "./capacity.js";
import { bodyLimits, clientConcurrency, connectionGate, headerLimits } from "./limits-stage.js";
import { composePipeline, type Next as NextFunction } from "./pipeline.js";
import { contextOf, createRequestContext, elapsedMs, jsonBodyOf, replaceJsonBody } from "../request/request-context.js";
import { sendError } from "../request/send-error.js";
import { authorize, authorizeAdmin } from "./authorize-stage.js";
import { searchFilter } from "./search-filter-stage.js";

export interface AppDependencies {
  routes: RouteTable;
  identity: IdentityResolver;
  authorizer: Authorizer;
  /** What the policy reads about objects (run -> experiment, owners), cached. */
  lookup: ObjectLookup;
  audit: AuditTrail;
  supervisor: Supervisor;
  proxy: MlflowProxy;
  metrics: GatewayMetrics;
  logger: Logger;
  accessLog: AccessLog;
  endpoints: GatewayEndpointsOptions;
  /** Databricks mode: the latest backend check, so callers get its precise reason. */
  backend: { readonly status: BackendStatus } | undefined;
  /** Databricks mode: plain experiment names are filed under the experiment root. */
  experimentNames: ExperimentNamesDependencies;
  /** Databricks mode: artifacts move through the app, and clients are shown locations that do. */
  artifacts: ArtifactStageDependencies;
  isShuttingDown(): boolean;
  /** Connections and calls in flight per client (limits-stage.ts). */
  capacity: Capacity;
  /** Bodies in flight, cut when they stall, crawl or grow past the API cap. */
  bodyWatch: BodyWatch;
  maxApiBodyBytes: number;
}

/**
 * The request pipeline. Its order is the architecture:
 *   request scope -> connection gate -> audit scope -> path decoding -> shutdown gate -> gateway endpoints
 *   -> header spellings -> header limits -> identity -> calls in flight per client -> admin pages
 *   -> route classification -> body limits -> cross-site guard -> policy
 *   -> audit gate -> attribution -> backend gate -> experiment names -> artifact locations
 *   -> artifacts -> child readiness -> filtered searches -> proxy, and one error responder
 * for all of them.
 * The connection gate comes before the audit scope: a connection over the cap is refused
 * before anything is read from it, so a flood costs no audit writes (the access log and
 * metrics still count it). The audit scope comes next so that every call, however early
 * it is refused, gets its one event. Body limits need the route (file uploads may be
 * large and slow, API bodies may not). Artifacts come before child readiness: run and logged-model files move between
 * the client and the workspace without the child. Identity comes before routing so an unauthenticated caller learns nothing
 * about routes. The audit gate comes after the policy: a call the policy refuses is
 * refused (and audited) the same way whether or not the audit sinks are healthy.
 */
export function createApp(deps: AppDependencies): RequestListener {
  const pages = createGatewayPages(deps.endpoints, deps.audit);
  return composePipeline(
    [
      requestScope(deps),
      connectionGate(deps.capacity),
      auditScope(deps),
      decodeRequestPath(),
      shutdownGate(deps),
      gatewayEndpoints(pages),
      headerSpellings(),
      headerLimits(),
      identify(deps),
      clientConcurrency(deps.capacity),
      adminPages(deps, pages),
      routeClassification(deps),
      bodyLimits({ watch: deps.bodyWatch, maxApiBodyBytes: deps.maxApiBodyBytes, logger: deps.logger }),
      crossSiteGuard(),
      authorize(deps),
      auditGate(deps),
      attribution(),
      backendGate(deps),
      experimentNames(deps.experimentNames),
      artifactLocations(deps.artifacts),
      artifacts(deps.artifacts),
      childReadiness(deps),
      searchFilter({ authorizer: deps.authorizer, childUrl: () => deps.supervisor.baseUrl }),
      deps.proxy.handler,
    ],
    errorResponder(deps),
  );
}

/** Request id, typed context, and (when the response ends) the access line and metrics. */
function requestScope(deps: AppDependencies) {
  return function requestScope(req: Request, res: Response, next: NextFunction): void {
    const context = createRequestContext(req, pathOf(req.url ?? "/"));
    res.setHeader("X-Request-Id", context.requestId);
    // Browser hardening for everything served from the app's origin (MLflow sets the
    // same on its own responses): no framing by other sites, no MIME sniffing.
    res.setHeader("X-Frame-Options", "SAMEORIGIN");
    res.setHeader("Content-Security-Policy", "frame-ancestors 'self'");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "same-origin");
    // A late write on a response that already ended is reported as an 'error' event, which
    // would end the process if nobody listened.
    res.on("error", (error) => deps.logger.debug("response stream error", { requestId: context.requestId, error: String(error) }));
    res.once("close", () => {
      const durationMs = elapsedMs(context);
      const status = res.writableFinished ? res.statusCode : 499;
      deps.metrics.observeRequest(context.metricClass, status, durationMs / 1000);
      logAccess(deps.accessLog, req, res, context, status, durationMs);
    });
    next();
  };
}

/** The path MLflow's router will see; a path that cannot be decoded safely is refused (and audited). */
function decodeRequestPath() {
  return function decodeRequestPath(req: Request, _res: Response, next: NextFunction): void {
    contextOf(req).path = decodePath(req.url ?? "/");
    next();
  };
}

/** After SIGTERM, requests on kept-alive connections are turned away so draining ends. */
function shutdownGate(deps: AppDependencies) {
  return function shutdownGate(_req: Request, res: Response, next: NextFunction): void {
    if (!deps.isShuttingDown()) return next();
    res.setHeader("Connection", "close");
    next(new GatewayError("SHUTTING_DOWN", "The gateway is shutting down; retry in a moment.", { retryAfterSeconds: RETRY_AFTER_SECONDS }));
  };
}

/** Probes, version and metrics: before identity, so the platform's probes need no credentials. */
function gatewayEndpoints(pages: GatewayPages) {
  return function gatewayEndpoints(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    if (!context.path.startsWith(GATEWAY_PREFIX) || context.path.startsWith(ADMIN_PREFIX)) return next();
    context.metricClass = "gateway";
    pages(req, res, next);
  };
}

function headerSpellings() {
  return function headerSpellings(req: Request, _res: Response, next: NextFunction): void {
    const verdict = checkHeaderSpellings(req.rawHeaders);
    for (const name of verdict.drop) delete req.headers[name];
    next();
  };
}

/**
 * Proves who is calling (see identity/resolve-identity.ts), then removes every credential
 * and identity claim from the request: the child acts as the service principal only and
 * must never see a user's token.
 */
function identify(deps: AppDependencies) {
  return function identify(req: Request, _res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const claims = readForwardedClaims(req.rawHeaders);
    deps.identity.resolve(claims).then((identity) => {
      context.identity = identity;
      if (identity.verifiedBy === "token") context.callerToken = claims.accessToken ?? claims.bearerToken;
      for (const name of Object.keys(req.headers)) if (isCredentialOrIdentityHeader(name)) delete req.headers[name];
      next();
    }, next);
  };
}

/** The audit viewer, after identity: only the gateway's admins may read the trail. */
function adminPages(deps: AppDependencies, pages: GatewayPages) {
  return function adminPages(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    if (!context.path.startsWith(ADMIN_PREFIX) || context.identity === undefined) return next();
    context.metricClass = "gateway";
    authorizeAdmin(req, deps.authorizer).then(() => pages(req, res, next), next);
  };
}

function routeClassification(deps: AppDependencies) {
  return function routeClassification(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    // The assistant is refused, but its set-up reads get MLflow's "not available to you" answer.
    const assistantAnswer = assistantSetupAnswer(req.method ?? "GET", context.path);
    if (assistantAnswer !== undefined) {
      sendJson(res, 200, assistantAnswer);
      return;
    }
    context.route = classifyRoute(deps.routes, req.method ?? "GET", context.path);
    context.metricClass = context.route.operationClass;
    next();
  };
}

function crossSiteGuard() {
  return function crossSiteGuard(req: Request, _res: Response, next: NextFunction): void {
    // The identity stage has stripped X-Forwarded-*; the guard judges the host the front door saw.
    checkCrossSite(req.method ?? "GET", { ...req.headers, "x-forwarded-host": contextOf(req).forwardedHost });
    next();
  };
}

/**
 * Writes the verified person into the few requests that record one (a run's user_id and
 * mlflow.user tag), whatever the client claimed. Only those small JSON bodies are read;
 * everything else streams untouched.
 */
function attribution() {
  return function attribution(req: Request, _res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const operation = context.route?.route.operation;
    if (operation === undefined || !ATTRIBUTED_OPERATIONS.has(operation) || context.identity === undefined) return next();
    const who = displayName(context.identity);
    // The body may already have been read (the policy looks ids up in it): one read, one parse.
    jsonBodyOf(req).then((body) => {
      const rewritten = attributeRequest(operation, body, who);
      // Forward the rewrite, or the original bytes as received.
      if (rewritten !== undefined) replaceJsonBody(req, rewritten);
      next();
    }, next);
  };
}

/**
 * While the Databricks backend check fails, MLflow API calls get its precise reason
 * (wrong secret, unreachable workspace, no permission) instead of whatever error the
 * child would produce after its own retries. UI pages still load.
 */
function backendGate(deps: AppDependencies) {
  return function backendGate(req: Request, _res: Response, next: NextFunction): void {
    const status = deps.backend?.status;
    const operationClass = contextOf(req).route?.operationClass;
    if (status === undefined || status.ok || status.checkedAt === undefined || operationClass === "ui" || operationClass === "health") return next();
    next(new GatewayError("BACKEND_UNAVAILABLE", `Databricks is not usable right now: ${status.detail}.`, { retryAfterSeconds: 5 }));
  };
}

function childReadiness(deps: AppDependencies) {
  return function childReadiness(_req: Request, _res: Response, next: NextFunction): void {
    if (deps.supervisor.isReady()) return next();
    const status = deps.supervisor.status();
    const waitMs = status.nextStartAt === undefined ? 0 : Date.parse(status.nextStartAt) - Date.now();
    const retryAfterSeconds = Math.max(RETRY_AFTER_SECONDS, Math.ceil(waitMs / 1000));
    const why = status.crashLoop
      ? "MLflow keeps failing to start; the operators have been told in the log."
      : "MLflow is starting; this usually takes a few seconds.";
    next(new GatewayError("CHILD_NOT_READY", why, { retryAfterSeconds }));
  };
}

function errorResponder(deps: AppDependencies) {
  return function errorResponder(error: unknown, req: Request, res: Response): void {
    const context = contextOf(req);
    const gatewayError = isGatewayError(error) ? error : new GatewayError("INTERNAL", "The gateway failed to handle this request.", { cause: error });
    if (gatewayError.code === "INTERNAL") {
      deps.logger.error("unexpected error in the request pipeline", {
        requestId: context.requestId,
        error: String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    context.errorCode = gatewayError.code;
    context.mlflowErrorCode = gatewayError.mlflowCode;
    if (context.metricClass !== "gateway") context.metricClass = context.route?.operationClass ?? "refused";
    const respond = (): void => sendError(req, res, gatewayError, { requestId: context.requestId, path: context.path });
    // A refused call's small JSON body names what it tried to touch (the run it meant to
    // delete): read it for the audit trail before answering. Large or other bodies are not.
    if (isSmallUnreadJson(req)) sampleBody(req, context).then(respond, respond);
    else respond();
  };
}

function isSmallUnreadJson(req: Request): boolean {
  const length = Number(req.headers["content-length"] ?? Number.NaN);
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  return type.includes("json") && length > 0 && length <= BODY_SAMPLE_LIMIT && !req.complete && req.readableFlowing === null;
}

/** How long a refusal waits for a small body to arrive before answering anyway. */
const SAMPLE_WAIT_MS = 1_000;

async function sampleBody(req: Request, context: ReturnType<typeof contextOf>): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, SAMPLE_WAIT_MS);
    function done(): void {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", done);
      req.off("error", done);
      resolve();
    }
    function onData(chunk: Buffer): void {
      size += chunk.length;
      if (size <= BODY_SAMPLE_LIMIT) chunks.push(chunk);
    }
    req.on("data", onData);
    req.once("end", done);
    req.once("error", done);
  });
  context.bytesIn = size;
  if (req.complete && size <= BODY_SAMPLE_LIMIT) context.bodySample = chunks;
}
