import type { IncomingMessage as Request, ServerResponse as Response } from "node:http";
import { GatewayError } from "../errors.js";
import type { Authorizer } from "../policy/authorizer.js";
import { filteredSearch, type SearchPage } from "../policy/filtered-search.js";
import { ownerIn } from "../policy/object-lookup.js";
import type { Target } from "../policy/evaluator.js";
import { sendJson } from "./gateway-endpoints.js";
import type { Next as NextFunction } from "./pipeline.js";
import { contextOf, jsonBodyOf } from "../request/request-context.js";

export interface SearchFilterDependencies {
  authorizer: Authorizer;
  /** The child's base URL (http://127.0.0.1:<port>). */
  childUrl(): string;
}

const CHILD_TIMEOUT_MS = 60_000;

/**
 * Searches whose answer must hold only what the caller may read (scoped grants): the
 * gateway asks MLflow itself, page by page, and answers with the readable items
 * (policy/filtered-search.ts). Every other call goes on to the proxy untouched. It runs
 * last before the proxy, so the artifact-location rewrite of the answer still applies.
 */
export function searchFilter(deps: SearchFilterDependencies) {
  return function searchFilter(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const kind = context.authorization?.filter;
    const caller = context.authorization?.caller;
    if (kind === undefined || caller === undefined) return next();
    const policy = deps.authorizer.policy;
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    const run = async (): Promise<SearchPage> => {
      const body = method === "GET" ? undefined : await jsonBodyOf(req);
      const paging = body ?? Object.fromEntries(url.searchParams);
      return filteredSearch({
        kind,
        maxResults: paging["max_results"] as string | number | undefined,
        pageToken: typeof paging["page_token"] === "string" ? paging["page_token"] : undefined,
        fetchPage: async ({ max_results, page_token }) => {
          const target = new URL(context.path, deps.childUrl());
          let init: RequestInit = { method, signal: AbortSignal.timeout(CHILD_TIMEOUT_MS) };
          if (body === undefined) {
            for (const [key, value] of url.searchParams) if (key !== "page_token" && key !== "max_results") target.searchParams.append(key, value);
            target.searchParams.set("max_results", String(max_results));
            if (page_token !== undefined) target.searchParams.set("page_token", page_token);
          } else {
            const sent: Record<string, unknown> = { ...body, max_results };
            if (page_token === undefined) delete sent["page_token"];
            else sent["page_token"] = page_token;
            init = { ...init, headers: { "content-type": "application/json" }, body: JSON.stringify(sent) };
          }
          const response = await fetch(target, init).catch((error: unknown) => {
            throw new GatewayError("UPSTREAM_UNAVAILABLE", "MLflow did not answer the search.", { cause: error, retryAfterSeconds: 2 });
          });
          const text = await response.text();
          let parsed: unknown = {};
          try {
            parsed = text === "" ? {} : JSON.parse(text);
          } catch {
            throw new GatewayError("UPSTREAM_ERROR", `MLflow answered the search with something other than JSON (${response.status}).`);
          }
          return { status: response.status, body: (parsed ?? {}) as Record<string, unknown> };
        },
        canRead: async (item) => deps.authorizer.canRead(caller, await targetOf(kind, item), policy),
      });
    };
    run().then((page) => {
      const answer = page.status === 200 && context.rewriteAnswer !== undefined ? (context.rewriteAnswer(page.body) ?? page.body) : page.body;
      if (page.status >= 400 && typeof page.body["error_code"] === "string") context.mlflowErrorCode = page.body["error_code"];
      context.bytesOut = sendJson(res, page.status, answer);
    }, next);

    async function targetOf(of: typeof kind, item: Record<string, unknown>): Promise<Target> {
      if (of === "experiments")
        return { kind: "experiment", id: stringOf(item["experiment_id"]), name: stringOf(item["name"]), owner: ownerIn(item["tags"]) };
      const name = stringOf(item["name"]) ?? "";
      if (of === "registered-models") return { kind: "model", name, owner: ownerIn(item["tags"]), alias: undefined };
      return deps.authorizer.modelTarget(name, undefined, policy.creatorsOwn);
    }
  };
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
