// Public types of the Databricks workspace emulator. Kept in one place so the
// tests and the gateway's own integration tests can import them without
// pulling in Express or execa.

import type { FaultController } from "./faults.js";
import type { ModelStorage, ModelStorageFactory } from "./model-storage.js";

export type PrincipalKind = "user" | "service_principal";

/** How a caller proved who it is on a recorded call. */
export type CredentialKind = "oauth" | "pat" | "client_secret" | "signed_url" | "none";

export interface UserSpec {
  /** SCIM id; a random 16-digit id (like Databricks') when omitted. */
  id?: string;
  /** The login, an e-mail address on Databricks. */
  userName: string;
  displayName?: string;
  /** Group display names; groups not declared in `groups` are created. */
  groups?: string[];
  active?: boolean;
}

export interface GroupSpec {
  id?: string;
  displayName: string;
}

export interface ServicePrincipalSpec {
  /** OAuth client id; a random UUID when omitted. */
  applicationId?: string;
  /** OAuth client secret; a random `dose...` string when omitted. */
  secret?: string;
  displayName?: string;
  id?: string;
  groups?: string[];
}

export interface PatSpec {
  /** The opaque token; a random `dapi...` string when omitted. */
  token?: string;
  /** userName of a user or applicationId of a service principal. */
  principal: string;
}

/** Answers 403 PERMISSION_DENIED to one principal for a path prefix. */
export interface DenyRule {
  /** userName, applicationId or SCIM id. */
  principal: string;
  /** e.g. "/api/2.0/mlflow/unity-catalog/". */
  pathPrefix: string;
  /** Upper-case HTTP methods; every method when omitted. */
  methods?: string[];
}

export interface WorkspaceEmulatorOptions {
  /** Defaults to one user, alice@example.com, in group "users". */
  users?: UserSpec[];
  groups?: GroupSpec[];
  /** The service principal a gateway would run as (one is always created). */
  servicePrincipal?: ServicePrincipalSpec;
  personalAccessTokens?: PatSpec[];
  deny?: DenyRule[];
  /**
   * The host name the workspace calls itself in its OAuth discovery document (issuer, token
   * endpoint, JWKS), default "localhost": clients are given 127.0.0.1 (the emulator's `url`),
   * so every test proves that the issuer is taken from discovery, as for a workspace reached
   * through an alias or a regional host. The same port either way.
   */
  canonicalHost?: string;
  /** Numeric workspace id, returned in discovery and x-databricks-org-id. */
  workspaceId?: string;
  /** Lifetime of tokens from the token endpoint and the mint helpers (default 3600). */
  tokenTtlSeconds?: number;
  /**
   * What rotateKeys() does with the previous key when the caller does not say:
   * keep it published (and accepted) for this many seconds (default 300), or
   * 0 to drop it at once.
   */
  rotationGraceSeconds?: number;
  /** Lifetime of signed blob URLs (default 900 s). */
  signedUrlTtlSeconds?: number;
  /**
   * How UC model version files are reached: "presigned" answers
   * DEFAULT_STORAGE, so MLflow uses /api/2.0/fs/create-upload-url and
   * create-download-url; "sdk" makes MLflow use the Files API through the
   * Databricks SDK. Default "presigned".
   */
  ucModelArtifacts?: "presigned" | "sdk";
  /**
   * Where UC model-version files live: Databricks default storage (the
   * default), or a customer-hosted storage such as an S3-compatible server.
   */
  modelStorage?: ModelStorageFactory;
  /** The `mlflow` executable (default: the repository's .venv/bin/mlflow, or $MLFLOW_BIN). */
  mlflowBin?: string;
  /** How long to wait for the backing mlflow server (default 60000 ms). */
  mlflowStartTimeoutMs?: number;
  /** Where to put the SQLite file, artifacts and blobs; a fresh temp dir when omitted. */
  dataDir?: string;
  /** Keep dataDir after stop() (default false; a caller-provided dataDir is never removed). */
  keepDataDir?: boolean;
  /** Listen port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Receives the backing mlflow server's output lines (for debugging). */
  onMlflowLog?: (line: string) => void;
}

/** The principal a signed blob URL was issued to (the caller of the call that signed it). */
export interface SignedFor {
  principalId: string;
  principalName: string;
  principalKind: PrincipalKind;
}

/**
 * One request the emulator received, whatever its path or outcome. Enough to prove who sent
 * what: every request with its principal (bearer calls) or the principal its signed URL was
 * issued to (blob calls), and how many body bytes arrived. Never a token, a signature or a
 * query string.
 */
export interface CallRecord {
  /** When the request arrived (ISO 8601). */
  time: string;
  method: string;
  /** Path without the query string; never contains a credential. */
  path: string;
  /**
   * "api" for /api/..., "oauth" for the token endpoint, "blob" for signed URLs, "discovery"
   * for the host metadata, OIDC discovery and JWKS, "other" for anything else (answered 404).
   */
  surface: "api" | "oauth" | "blob" | "discovery" | "other";
  /** Who the bearer token (or the token endpoint's client credentials) proved the caller to be. */
  principalId: string | null;
  principalName: string | null;
  principalKind: PrincipalKind | null;
  credential: CredentialKind;
  /** Blob calls with a valid signature: the principal the URL was signed for; else null. */
  signedFor: SignedFor | null;
  /** Request body bytes received from the client, counted off the connection (0 for none). */
  bytesIn: number;
  /** The status answered; meaningless when `finished` is false and no answer was started. */
  status: number;
  /** False when the connection closed before the answer was complete (the client gave up). */
  finished: boolean;
}

export interface TokenMintOptions {
  /** Seconds until exp (default tokenTtlSeconds). */
  expiresInSeconds?: number;
  /** Mint a token whose exp is already in the past. */
  expired?: boolean;
  /** Mint a token whose nbf is in the future. */
  notYetValid?: boolean;
  /** Mint a token with an issuer other than {host}/oidc. */
  wrongIssuer?: boolean;
  /** Sign with a fresh key that the JWKS never publishes. */
  unknownKey?: boolean;
  scope?: string;
  /** Extra or replacement claims, applied last. */
  claims?: Record<string, unknown>;
}

export interface UserTokenOptions extends TokenMintOptions {
  userName: string;
}

export interface PublicUser {
  id: string;
  userName: string;
  displayName: string;
  groups: string[];
}

export interface PublicServicePrincipal {
  id: string;
  applicationId: string;
  secret: string;
  displayName: string;
}

export interface WorkspaceEmulator {
  /** http://127.0.0.1:<port>, the DATABRICKS_HOST to give clients. */
  readonly url: string;
  /** The `iss` of the workspace's tokens, as its discovery document names it (not `${url}/oidc`). */
  readonly issuer: string;
  readonly workspaceId: string;
  readonly servicePrincipal: PublicServicePrincipal;
  readonly users: readonly PublicUser[];
  /** Every request received (API, token endpoint, blob, discovery, unknown paths), in the order they ended. */
  readonly calls: CallRecord[];
  readonly faults: FaultController;
  /** Where UC model versions are stored; its clientEnv is what an MLflow process needs to reach it. */
  readonly modelStorage: ModelStorage;
  /** URL of the backing open-source mlflow server (for debugging only). */
  readonly backingMlflowUrl: string;
  readonly dataDir: string;
  /** kid of the key that signs new tokens. */
  currentKeyId(): string;
  /** New signing key; the previous one is kept for the grace period or dropped. */
  rotateKeys(options?: { dropPrevious?: boolean; graceSeconds?: number }): Promise<string>;
  mintUserToken(options: UserTokenOptions): Promise<string>;
  mintServicePrincipalToken(options?: TokenMintOptions): Promise<string>;
  /** Adds a PAT for a user (userName) or service principal (applicationId); returns it. */
  addPersonalAccessToken(principal: string, token?: string): string;
  addDenyRule(rule: DenyRule): void;
  clearDenyRules(): void;
  clearCalls(): void;
  /** Switches how UC model-version files are reached (the `ucModelArtifacts` option) at run time, for tests. */
  setUcModelArtifacts(mode: "presigned" | "sdk"): void;
  /** Writes a run artifact the way a Databricks notebook would. */
  putRunArtifact(runId: string, artifactPath: string, bytes: Uint8Array | string): Promise<void>;
  /** Reads a run artifact from the emulator's storage, or undefined. */
  getRunArtifact(runId: string, artifactPath: string): Promise<Buffer | undefined>;
  /** Stops the HTTP server and the backing mlflow server and removes temp data. */
  stop(): Promise<void>;
}
