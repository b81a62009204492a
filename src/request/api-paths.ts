/**
 * Paths whose callers are programs (MLflow clients, the UI's fetch calls), which get
 * MLflow-shaped JSON errors; everything else is a page a person may be looking at.
 */
const API_PREFIXES = ["/api/", "/ajax-api/", "/graphql", "/get-artifact", "/model-versions/get-artifact", "/v1/", "/gateway/", "/-/"];

export function isApiPath(path: string): boolean {
  return API_PREFIXES.some((prefix) => path.startsWith(prefix));
}
