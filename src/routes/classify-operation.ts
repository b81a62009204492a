/**
 * Coarse classes of MLflow operations, used for metrics now and for policy later.
 * They are derived from the operation names MLflow itself uses, never from URL guesses.
 */
export type OperationClass = "read" | "write" | "delete" | "ui" | "health";

export type MlflowService = "tracking" | "registry" | "artifacts" | "traces" | "ui" | "ai-gateway" | "assistant" | "jobs" | "server";

const READ_OPERATION =
  /^(Get|Search|List|Query|Download|BatchGet|Calculate|Graphql|ServeGet|ServeArtifacts|ServeModelVersionArtifact|ServeSearchDatasets|ProviderHealthCheck|StreamResponse)/;
const DELETE_OPERATION = /^Delete/;
const UI_OPERATION = new Set(["Serve", "ServeStaticFile", "Static"]);
const HEALTH_OPERATION = new Set(["Health", "Version"]);

export function classifyOperation(route: { method: string; operation: string }): OperationClass {
  if (UI_OPERATION.has(route.operation)) return "ui";
  if (HEALTH_OPERATION.has(route.operation)) return "health";
  if (DELETE_OPERATION.test(route.operation) || route.method === "DELETE") return "delete";
  if (route.method === "GET" || READ_OPERATION.test(route.operation)) return "read";
  return "write";
}

export function serviceOf(path: string): MlflowService {
  if (path === "/" || path.startsWith("/static-files/") || path.startsWith("/build/")) return "ui";
  if (path.startsWith("/gateway/") || path.includes("/mlflow/gateway")) return "ai-gateway";
  if (path.includes("/mlflow/assistant")) return "assistant";
  if (path.includes("/jobs")) return "jobs";
  if (path === "/v1/traces" || /\/traces?\b|trace-artifact|\/spans/.test(path)) return "traces";
  if (/registered-models|model-versions|\/webhooks/.test(path)) return "registry";
  if (/artifact/.test(path)) return "artifacts";
  if (path === "/health" || path === "/version" || path.endsWith("/server-info")) return "server";
  return "tracking";
}
