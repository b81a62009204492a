import { GatewayError } from "../errors.js";

/** Longest URL the gateway accepts; Node's own header limit (16 KB) bounds it anyway. */
export const MAX_URL_LENGTH = 8_192;

/**
 * The path MLflow's router will see: uvicorn percent-decodes the request target and both
 * Starlette and Werkzeug route on that, so the gateway classifies the same decoded form.
 */
export function decodePath(url: string | undefined): string {
  if (url === undefined || !url.startsWith("/")) {
    throw new GatewayError("PATH_REJECTED", "The request target must be a path starting with '/'.");
  }
  if (url.length > MAX_URL_LENGTH) {
    throw new GatewayError("PATH_REJECTED", `The URL is longer than ${MAX_URL_LENGTH} characters.`);
  }
  const raw = pathOf(url);
  let decoded: string;
  try {
    decoded = raw.includes("%") ? decodeURIComponent(raw) : raw;
  } catch {
    throw new GatewayError("PATH_REJECTED", "The URL path has malformed percent-encoding.");
  }
  if (/[\u0000-\u001f\u007f\\]/.test(decoded)) {
    throw new GatewayError("PATH_REJECTED", "The URL path contains control characters or a backslash.");
  }
  return decoded;
}

/** The request target without its query string, still percent-encoded. */
export function pathOf(url: string): string {
  const queryAt = url.indexOf("?");
  return queryAt === -1 ? url : url.slice(0, queryAt);
}
