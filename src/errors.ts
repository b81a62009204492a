/**
 * Typed errors with stable codes. Callers branch on `code`, never on message text;
 * one responder (request/send-error.ts) turns them into HTTP answers.
 */

export type GatewayErrorCode =
  | "CONFIG_INVALID"
  | "MLFLOW_NOT_FOUND"
  | "LISTEN_FAILED"
  | "CHILD_NOT_READY"
  | "UPSTREAM_UNAVAILABLE"
  | "BACKEND_UNAVAILABLE"
  | "UPSTREAM_TIMEOUT"
  | "UPSTREAM_ERROR"
  | "ROUTE_NOT_FOUND"
  | "ROUTE_FORBIDDEN"
  | "HEADER_REJECTED"
  | "PATH_REJECTED"
  | "BODY_REJECTED"
  | "BODY_TOO_LARGE"
  | "BODY_TIMEOUT"
  | "HEADERS_TOO_LARGE"
  | "OVERLOADED"
  | "PARAMETER_REJECTED"
  | "ARTIFACT_NOT_FOUND"
  | "BACKEND_FORBIDDEN"
  | "BACKEND_THROTTLED"
  | "NOT_SUPPORTED"
  | "UPLOAD_NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "CROSS_SITE_REQUEST"
  | "UNAUTHENTICATED"
  | "IDENTITY_UNAVAILABLE"
  | "SHUTTING_DOWN"
  | "POLICY_DENIED"
  | "AUDIT_UNAVAILABLE"
  | "INTERNAL";

/** MLflow's own `error_code` vocabulary (mlflow/protos/databricks.proto), so clients map them. */
export type MlflowErrorCode =
  | "TEMPORARILY_UNAVAILABLE"
  | "ENDPOINT_NOT_FOUND"
  | "PERMISSION_DENIED"
  | "BAD_REQUEST"
  | "INTERNAL_ERROR"
  | "DEADLINE_EXCEEDED"
  | "UNAUTHENTICATED"
  | "RESOURCE_DOES_NOT_EXIST"
  | "REQUEST_LIMIT_EXCEEDED"
  | "NOT_IMPLEMENTED";

interface ErrorShape {
  status: number;
  mlflowCode: MlflowErrorCode;
}

const SHAPES: Record<GatewayErrorCode, ErrorShape> = {
  CONFIG_INVALID: { status: 500, mlflowCode: "INTERNAL_ERROR" },
  MLFLOW_NOT_FOUND: { status: 500, mlflowCode: "INTERNAL_ERROR" },
  LISTEN_FAILED: { status: 500, mlflowCode: "INTERNAL_ERROR" },
  CHILD_NOT_READY: { status: 503, mlflowCode: "TEMPORARILY_UNAVAILABLE" },
  UPSTREAM_UNAVAILABLE: { status: 503, mlflowCode: "TEMPORARILY_UNAVAILABLE" },
  BACKEND_UNAVAILABLE: { status: 503, mlflowCode: "TEMPORARILY_UNAVAILABLE" },
  UPSTREAM_TIMEOUT: { status: 504, mlflowCode: "DEADLINE_EXCEEDED" },
  UPSTREAM_ERROR: { status: 500, mlflowCode: "INTERNAL_ERROR" },
  ROUTE_NOT_FOUND: { status: 404, mlflowCode: "ENDPOINT_NOT_FOUND" },
  ROUTE_FORBIDDEN: { status: 403, mlflowCode: "PERMISSION_DENIED" },
  HEADER_REJECTED: { status: 400, mlflowCode: "BAD_REQUEST" },
  PATH_REJECTED: { status: 400, mlflowCode: "BAD_REQUEST" },
  BODY_REJECTED: { status: 400, mlflowCode: "BAD_REQUEST" },
  BODY_TOO_LARGE: { status: 413, mlflowCode: "BAD_REQUEST" },
  BODY_TIMEOUT: { status: 408, mlflowCode: "BAD_REQUEST" },
  HEADERS_TOO_LARGE: { status: 431, mlflowCode: "BAD_REQUEST" },
  OVERLOADED: { status: 503, mlflowCode: "TEMPORARILY_UNAVAILABLE" },
  PARAMETER_REJECTED: { status: 400, mlflowCode: "BAD_REQUEST" },
  ARTIFACT_NOT_FOUND: { status: 404, mlflowCode: "RESOURCE_DOES_NOT_EXIST" },
  BACKEND_FORBIDDEN: { status: 403, mlflowCode: "PERMISSION_DENIED" },
  BACKEND_THROTTLED: { status: 429, mlflowCode: "REQUEST_LIMIT_EXCEEDED" },
  NOT_SUPPORTED: { status: 501, mlflowCode: "NOT_IMPLEMENTED" },
  UPLOAD_NOT_FOUND: { status: 404, mlflowCode: "RESOURCE_DOES_NOT_EXIST" },
  METHOD_NOT_ALLOWED: { status: 405, mlflowCode: "ENDPOINT_NOT_FOUND" },
  CROSS_SITE_REQUEST: { status: 403, mlflowCode: "PERMISSION_DENIED" },
  UNAUTHENTICATED: { status: 401, mlflowCode: "UNAUTHENTICATED" },
  IDENTITY_UNAVAILABLE: { status: 503, mlflowCode: "TEMPORARILY_UNAVAILABLE" },
  SHUTTING_DOWN: { status: 503, mlflowCode: "TEMPORARILY_UNAVAILABLE" },
  POLICY_DENIED: { status: 403, mlflowCode: "PERMISSION_DENIED" },
  AUDIT_UNAVAILABLE: { status: 503, mlflowCode: "TEMPORARILY_UNAVAILABLE" },
  INTERNAL: { status: 500, mlflowCode: "INTERNAL_ERROR" },
};

export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly code: GatewayErrorCode;
  /** Seconds a client should wait before retrying (429 and 503). */
  readonly retryAfterSeconds: number | undefined;
  /** Headers the answer must carry (Allow for 405, WWW-Authenticate for 401). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: GatewayErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }

  get status(): number {
    return SHAPES[this.code].status;
  }

  get mlflowCode(): MlflowErrorCode {
    return SHAPES[this.code].mlflowCode;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
