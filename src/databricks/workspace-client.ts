import type { DatabricksConfig } from "../config/config.js";
import { type StreamPut, StreamPutError, streamPut } from "./stream-put.js";

/** One call to the workspace may take this long. */
export const WORKSPACE_TIMEOUT_MS = 10_000;
/** Tokens are renewed this long before they expire. */
const TOKEN_RENEW_MARGIN_MS = 60_000;

/** Why a call to the workspace failed, in terms an operator can act on. */
export type WorkspaceFailure =
  "unreachable" | "bad-credentials" | "token-endpoint-failed" | "forbidden" | "rate-limited" | "workspace-error" | "unexpected-answer";

export class WorkspaceError extends Error {
  override readonly name = "WorkspaceError";
  constructor(
    readonly failure: WorkspaceFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The gateway's own calls to the workspace, as the app's service principal: the start-up
 * credential check and the model-version artifact reads the child cannot do. OAuth M2M
 * tokens come from the token endpoint named by the workspace's discovery document.
 */
export class WorkspaceClient {
  readonly host: string;
  readonly #config: DatabricksConfig;
  #token: { value: string; renewAt: number } | undefined;
  /** From the discovery document; it does not change while the gateway runs. */
  #tokenEndpointUrl: string | undefined;

  constructor(config: DatabricksConfig) {
    this.#config = config;
    this.host = config.host;
  }

  /** The service principal's token; `fresh` skips the cache, to test the token endpoint itself. */
  async token(fresh = false): Promise<string> {
    const { auth } = this.#config;
    if (auth.kind === "pat") return auth.token.reveal();
    if (!fresh && this.#token !== undefined && Date.now() < this.#token.renewAt) return this.#token.value;
    const tokenEndpoint = await this.#tokenEndpoint();
    const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret.reveal())}`).toString("base64");
    const response = await this.#send(tokenEndpoint, {
      method: "POST",
      headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&scope=all-apis",
    });
    if (response.status === 400 || response.status === 401) {
      const body = await safeText(response);
      throw new WorkspaceError(
        "bad-credentials",
        `the workspace refused the client id/secret (${response.status}${oauthError(body)})`,
        response.status,
      );
    }
    if (!response.ok) throw new WorkspaceError("token-endpoint-failed", `the token endpoint answered ${response.status}`, response.status);
    const grant = (await response.json()) as { access_token?: string; expires_in?: number };
    if (typeof grant.access_token !== "string") throw new WorkspaceError("unexpected-answer", "the token endpoint answered without an access_token");
    const lifetimeMs = (grant.expires_in ?? 3600) * 1000;
    this.#token = { value: grant.access_token, renewAt: Date.now() + Math.max(0, lifetimeMs - TOKEN_RENEW_MARGIN_MS) };
    return grant.access_token;
  }

  async #tokenEndpoint(): Promise<string> {
    if (this.#tokenEndpointUrl !== undefined) return this.#tokenEndpointUrl;
    const discovery = await this.#json<{ token_endpoint?: string }>(
      `${this.host}/oidc/.well-known/oauth-authorization-server`,
      {},
      "token-endpoint-failed",
    );
    if (typeof discovery.token_endpoint !== "string") {
      throw new WorkspaceError("unexpected-answer", "the workspace's OAuth discovery document has no token_endpoint");
    }
    this.#tokenEndpointUrl = discovery.token_endpoint;
    return this.#tokenEndpointUrl;
  }

  /** A call to the workspace REST API with the service principal's token. */
  async request(path: string, init: RequestInit = {}, freshToken = false): Promise<Response> {
    const token = await this.token(freshToken);
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    const response = await this.#send(`${this.host}${path}`, { ...init, headers });
    if (response.status === 401 || response.status === 403) {
      const body = await safeText(response);
      if (response.status === 401 || isTokenRefusal(response, body)) {
        this.#token = undefined;
        throw new WorkspaceError(
          "bad-credentials",
          `the workspace rejected the service principal's token (${response.status}${errorCodeIn(body)})`,
          response.status,
        );
      }
      throw new WorkspaceError("forbidden", `the service principal lacks permission (403${errorCodeIn(body)})`, 403);
    }
    if (response.status === 429)
      throw new WorkspaceError(
        "rate-limited",
        `the workspace is rate limiting the app (429, Retry-After ${response.headers.get("retry-after") ?? "unset"})`,
        429,
      );
    if (response.status >= 500)
      throw new WorkspaceError("workspace-error", `the workspace answered ${response.status}${await errorCodeOf(response)}`, response.status);
    return response;
  }

  /**
   * A call with the service principal's token whose answer is returned as it is, for
   * callers that read the workspace's own statuses (the Files API). Only a refused token
   * is turned into an error here: it is the credentials' problem, not the caller's.
   */
  async send(path: string, init: RequestInit): Promise<Response> {
    const token = await this.token();
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    return this.#refuseBadCredentials(await this.#send(`${this.host}${path}`, { ...init, headers }));
  }

  /** A PUT of a streamed body (see stream-put.ts for why not fetch), as the service principal. */
  async putStream(path: string, put: StreamPut): Promise<Response> {
    const token = await this.token();
    let response: Response;
    try {
      response = await streamPut(`${this.host}${path}`, { ...put, headers: { ...put.headers, authorization: `Bearer ${token}` } });
    } catch (error) {
      throw new WorkspaceError("unreachable", `cannot reach ${this.host} (${error instanceof StreamPutError ? error.reason : "connection failed"})`);
    }
    return this.#refuseBadCredentials(response);
  }

  async #refuseBadCredentials(response: Response): Promise<Response> {
    if (
      response.status === 401 ||
      (response.status === 403 && /invalid access token/i.test(response.headers.get("x-databricks-reason-phrase") ?? ""))
    ) {
      this.#token = undefined;
      await response.body?.cancel();
      throw new WorkspaceError("bad-credentials", `the workspace rejected the service principal's token (${response.status})`, response.status);
    }
    return response;
  }

  async #json<T>(url: string, init: RequestInit, failure: WorkspaceFailure): Promise<T> {
    const response = await this.#send(url, init);
    if (!response.ok) throw new WorkspaceError(failure, `${new URL(url).pathname} answered ${response.status}`, response.status);
    return (await response.json()) as T;
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(WORKSPACE_TIMEOUT_MS) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new WorkspaceError("unreachable", `cannot reach ${this.host} (${cause})`);
    }
  }
}

async function safeText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return "";
  }
}

function oauthError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: string };
    return typeof parsed.error === "string" ? `: ${parsed.error.slice(0, 64)}` : "";
  } catch {
    return "";
  }
}

/** The HTML page some workspaces answer a refused token with (see isTokenRefusal). */
const INVALID_TOKEN_PAGE = /<title>Error 403 Invalid access token\.<\/title>/;

/** What a Databricks error body says: `{"error_code": "...", "message": "..."}` (some answer an integer code). */
export interface DatabricksErrorBody {
  code: string | undefined;
  message: string | undefined;
}

export function databricksErrorIn(body: string): DatabricksErrorBody {
  try {
    const parsed = JSON.parse(body) as { error_code?: unknown; message?: unknown };
    const code = typeof parsed.error_code === "string" || typeof parsed.error_code === "number" ? String(parsed.error_code).slice(0, 64) : undefined;
    return { code, message: typeof parsed.message === "string" ? parsed.message.slice(0, 300) : undefined };
  } catch {
    return { code: INVALID_TOKEN_PAGE.test(body) ? "Invalid access token" : undefined, message: undefined };
  }
}

/** Reads (and so consumes) an error answer's body. */
export async function readDatabricksError(response: Response): Promise<DatabricksErrorBody> {
  return databricksErrorIn(await safeText(response));
}

/** Databricks errors carry a stable `error_code`; messages may quote request data, so only the code is kept. */
async function errorCodeOf(response: Response): Promise<string> {
  return errorCodeIn(await safeText(response));
}

function errorCodeIn(body: string): string {
  const { code } = databricksErrorIn(body);
  return code === undefined ? "" : `: ${code}`;
}

/**
 * A workspace refuses a token it does not accept with 403 as often as with 401: an HTML
 * page "Error 403 Invalid access token." (DataThirstLtd/databricks.vsts.tools#26) or JSON
 * with an integer error_code and the reason in X-Databricks-Reason-Phrase
 * (databricks-sdk-go#873, #917). That is a credential problem, not a missing grant.
 */
function isTokenRefusal(response: Response, body: string): boolean {
  if (/invalid access token/i.test(response.headers.get("x-databricks-reason-phrase") ?? "")) return true;
  if (INVALID_TOKEN_PAGE.test(body)) return true;
  const { code, message } = databricksErrorIn(body);
  return code === "403" || (message !== undefined && /^Invalid access token\.?$/.test(message));
}
