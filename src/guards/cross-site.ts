import type { IncomingHttpHeaders } from "node:http";
import { GatewayError } from "../errors.js";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Refuses state-changing browser requests that come from another origin. MLflow's own
 * CORS guard cannot do this behind the gateway: the gateway strips Origin before
 * proxying (the child would otherwise see every public origin as foreign).
 *
 * Fetch Metadata first (https://w3c.github.io/webappsec-fetch-metadata/): only
 * `same-origin` and `none` pass; `same-site` is refused too, because other Databricks
 * Apps share this app's site. Browsers without it are judged by Origin against the host
 * the request was addressed to. Requests with neither header come from programs (the
 * MLflow client), which carry no ambient browser credentials, and pass.
 */
export function checkCrossSite(method: string, headers: IncomingHttpHeaders): void {
  if (!STATE_CHANGING.has(method)) return;
  const fetchSite = headerValue(headers["sec-fetch-site"]);
  if (fetchSite !== undefined) {
    if (fetchSite === "same-origin" || fetchSite === "none") return;
    throw refuse(`Sec-Fetch-Site is "${fetchSite.slice(0, 32)}"`);
  }
  const origin = headerValue(headers.origin);
  if (origin === undefined) return;
  const ownHost = headerValue(headers["x-forwarded-host"]) ?? headerValue(headers.host);
  let originHost: string | undefined;
  try {
    originHost = origin === "null" ? undefined : new URL(origin).host;
  } catch {
    originHost = undefined;
  }
  if (originHost === undefined || ownHost === undefined || originHost.toLowerCase() !== ownHost.toLowerCase()) {
    throw refuse(`Origin ${origin.slice(0, 128)} is not this site`);
  }
}

function refuse(why: string): GatewayError {
  return new GatewayError(
    "CROSS_SITE_REQUEST",
    `Cross-site request refused: ${why}. Use the MLflow UI served by this gateway, or a client without browser credentials.`,
  );
}

function headerValue(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value[0];
  return value === undefined || value === "" ? undefined : value;
}
