import { GatewayError } from "../errors.js";
import { assistantRefused } from "./assistant.js";
import type { RouteMatch, RouteTable } from "../routes/route-table.js";

/**
 * Only requests that match a route of the installed MLflow are forwarded: an unknown
 * path gets a clean 404 from the gateway instead of reaching code nobody reviewed.
 */
export function classifyRoute(table: RouteTable, method: string, path: string): RouteMatch {
  const found = table.match(method, path);
  if (found === undefined) {
    throw new GatewayError("ROUTE_NOT_FOUND", `No MLflow endpoint at ${method} ${path.slice(0, 256)}.`);
  }
  if (found.kind === "method-not-allowed") {
    throw new GatewayError("METHOD_NOT_ALLOWED", `${method} is not allowed on ${path.slice(0, 256)}; allowed: ${found.allowed.join(", ")}.`, {
      headers: { Allow: found.allowed.join(", ") },
    });
  }
  // mlflow/server/assistant/api.py accepts any caller from loopback, and every request
  // the gateway forwards arrives from loopback: forwarding would hand it to anyone.
  if (found.service === "assistant") throw assistantRefused();
  return found;
}
