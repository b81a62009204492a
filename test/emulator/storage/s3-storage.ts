// Customer-hosted Unity Catalog model storage on S3, played by moto in server
// mode (a real S3/IAM/STS implementation on loopback, not a mock of
// MLflow's client). generate-temporary-credentials answers
// CUSTOMER_HOSTED + aws_temp_credentials, and MLflow then talks to the bucket
// with boto3 through OptimizedS3ArtifactRepository
// (mlflow/utils/_unity_catalog_utils.py, _get_artifact_repo_from_storage_info).
//
// How it mirrors Databricks: the metastore's storage credential is an IAM
// principal ("databricks-unity-catalog" user) that may only assume roles; each
// credential request is an STS AssumeRole whose session may only touch the
// model version's prefix. moto's IAM authentication is switched on after
// bootstrap (POST /moto-api/reset-auth "0", moto/moto_api/_internal/
// responses.py), so moto itself checks every signature, session token and
// policy. Two moto 5.2.5 gaps shape the design:
//   * AssumeRole session policies are ignored (AssumedRoleAccessKey.
//     collect_policies reads only the role's own policies), so the scope lives
//     in one role per model version and operation, created on first use;
//   * session expiry is not enforced (nothing compares the STS expiration), so
//     an expired credential still works against moto; expiration_time is
//     still the real STS Expiration.
// ListBucket cannot be narrowed to the prefix either: moto evaluates policy
// Conditions without request context, so an s3:prefix condition denies all.
// And moto authenticates only header-signed requests: a presigned (query-
// signed) URL gets a 500 (IAMRequestBase reads headers["Authorization"]), so
// with authentication on, clientEnv switches off MLflow's two presigned-URL
// paths (multipart upload of files over MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE,
// 10 MB, and parallel download from 500 MB); boto3's own header-signed
// multipart upload still runs. iamAuthentication: false keeps them on instead.

import { createHash } from "node:crypto";
import path from "node:path";
import { type ModelStorage, type ModelStorageFactory, type ModelVersionOperation, MODEL_CREDENTIAL_TTL_MS } from "../model-storage.js";
import { type AwsEndpoint, callAwsQuery, callS3, callS3Ok } from "./aws-client.js";
import type { AwsCredentials } from "./aws-sigv4.js";
import { freePort, startServerProcess } from "../server-process.js";
import { xmlText, xmlTexts } from "./xml.js";

const DEFAULT_MOTO_BIN = process.env.MOTO_SERVER_BIN ?? path.resolve(import.meta.dirname, "../../../.venv/bin/moto_server");
const MOTO_START_TIMEOUT_MS = 30_000;
const REGION = "us-east-1";
const BUCKET = "databricks-uc-metastore";
const UC_USER = "databricks-unity-catalog";
/** Anything signs while moto's authentication is still off; the key only routes the call. */
const BOOTSTRAP_CREDENTIALS: AwsCredentials = { accessKeyId: "AKIABOOTSTRAP0000000", secretAccessKey: "bootstrap" };

export interface S3StorageOptions {
  /** Path of moto_server (default: the project's .venv, or $MOTO_SERVER_BIN). */
  motoBin?: string;
  startTimeoutMs?: number;
  /** Switch moto's IAM authentication on after bootstrap (default true); see the file comment for the trade-off. */
  iamAuthentication?: boolean;
}

export interface S3ModelStorage extends ModelStorage {
  readonly kind: "s3";
  readonly endpoint: AwsEndpoint;
  readonly bucket: string;
  /**
   * MLFLOW_S3_ENDPOINT_URL: MLflow's S3 clients must reach moto instead of AWS
   * (mlflow/store/artifact/s3_artifact_repo.py, _get_s3_client); with IAM
   * authentication also MLFLOW_ENABLE_MULTIPART_UPLOAD/DOWNLOAD=false.
   */
  readonly clientEnv: Record<string, string>;
  /** Process id of moto_server (its process group), so tests can check it is gone. */
  readonly serverPid: number;
  /** Object key prefix of a model version (no trailing slash). */
  versionPrefix(fullName: string, version: string): string;
  /** Keys under a prefix, read as the Unity Catalog principal. */
  listKeys(prefix: string): Promise<string[]>;
}

const policy = (statements: object[]): string => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/** What a session for this operation may do on the version's prefix. */
function scopedPolicy(bucket: string, prefix: string, operation: ModelVersionOperation): string {
  const objectActions = ["s3:GetObject"];
  if (operation === "MODEL_VERSION_OPERATION_READ_WRITE")
    objectActions.push("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts");
  return policy([
    { Effect: "Allow", Action: objectActions, Resource: `arn:aws:s3:::${bucket}/${prefix}/*` },
    // moto names HeadBucket's permission s3:HeadBucket; AWS checks s3:ListBucket for it.
    { Effect: "Allow", Action: ["s3:ListBucket", "s3:HeadBucket"], Resource: `arn:aws:s3:::${bucket}` },
  ]);
}

export function s3ModelStorage(options: S3StorageOptions = {}): ModelStorageFactory {
  return async ({ workspaceId }) => {
    const port = await freePort();
    const endpoint: AwsEndpoint = { url: `http://127.0.0.1:${port}`, region: REGION };
    const server = await startServerProcess({
      name: "moto_server",
      command: options.motoBin ?? DEFAULT_MOTO_BIN,
      args: ["-H", "127.0.0.1", "-p", String(port)],
      // Authentication stays off (the default, infinite count) until bootstrap is done.
      env: { INITIAL_NO_AUTH_ACTION_COUNT: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
      isReady: async () => (await fetch(`${endpoint.url}/moto-api/`)).ok,
      startTimeoutMs: options.startTimeoutMs ?? MOTO_START_TIMEOUT_MS,
    });
    try {
      const iamAuthentication = options.iamAuthentication ?? true;
      const ucUser = await bootstrap(endpoint, iamAuthentication);
      const clientEnv: Record<string, string> = { MLFLOW_S3_ENDPOINT_URL: endpoint.url };
      if (iamAuthentication) Object.assign(clientEnv, { MLFLOW_ENABLE_MULTIPART_UPLOAD: "false", MLFLOW_ENABLE_MULTIPART_DOWNLOAD: "false" });
      return createS3Storage({ endpoint, uc: ucUser, workspaceId, clientEnv, serverPid: server.pid, stop: () => server.stop() });
    } catch (err) {
      await server.stop();
      throw new Error(`S3 model storage: moto bootstrap failed: ${String(err)}\n${server.logTail()}`, { cause: err });
    }
  };
}

interface UcPrincipal {
  arn: string;
  credentials: AwsCredentials;
}

/** Creates the Unity Catalog IAM user and the bucket, then (by default) switches moto's IAM authentication on. */
async function bootstrap(endpoint: AwsEndpoint, iamAuthentication: boolean): Promise<UcPrincipal> {
  const iam = (action: string, params: Record<string, string>): Promise<string> =>
    callAwsQuery(endpoint, BOOTSTRAP_CREDENTIALS, "iam", action, params);
  const user = await iam("CreateUser", { UserName: UC_USER });
  const key = await iam("CreateAccessKey", { UserName: UC_USER });
  await iam("PutUserPolicy", {
    UserName: UC_USER,
    PolicyName: "unity-catalog-storage-credential",
    PolicyDocument: policy([
      // moto checks IAM actions against resource "*" (moto/core/responses.py, call_action).
      { Effect: "Allow", Action: ["iam:CreateRole", "iam:PutRolePolicy", "sts:AssumeRole"], Resource: "*" },
      { Effect: "Allow", Action: "s3:*", Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`] },
    ]),
  });
  await callS3Ok(endpoint, BOOTSTRAP_CREDENTIALS, { method: "PUT", bucket: BUCKET });
  const arn = xmlText(user, "Arn");
  const accessKeyId = xmlText(key, "AccessKeyId");
  const secretAccessKey = xmlText(key, "SecretAccessKey");
  if (!arn || !accessKeyId || !secretAccessKey) throw new Error("moto answered CreateUser/CreateAccessKey without Arn or keys");
  if (iamAuthentication) await enableAuthentication(endpoint);
  return { arn, credentials: { accessKeyId, secretAccessKey } };
}

async function enableAuthentication(endpoint: AwsEndpoint): Promise<void> {
  const enabled = await fetch(`${endpoint.url}/moto-api/reset-auth`, { method: "POST", headers: { "content-type": "text/plain" }, body: "0" });
  if (!enabled.ok) throw new Error(`moto refused POST /moto-api/reset-auth: ${enabled.status}`);
  // Fail at start-up, not mid-test, if a moto upgrade changed how authentication is switched on.
  const anonymous = await callS3(endpoint, BOOTSTRAP_CREDENTIALS, { method: "GET", bucket: BUCKET, query: { "list-type": "2" } });
  if (anonymous.status !== 403) throw new Error(`moto still accepts unknown access keys after reset-auth (status ${anonymous.status})`);
}

interface S3StorageParts {
  endpoint: AwsEndpoint;
  uc: UcPrincipal;
  workspaceId: string;
  clientEnv: Record<string, string>;
  serverPid: number;
  stop: () => Promise<void>;
}

function createS3Storage({ endpoint, uc, workspaceId, clientEnv, serverPid, stop }: S3StorageParts): S3ModelStorage {
  const modelPrefix = (fullName: string): string => `${workspaceId}/models/${fullName.split(".").join("/")}`;
  const versionPrefix = (fullName: string, version: string): string => `${modelPrefix(fullName)}/${version}`;
  const roles = new Map<string, Promise<string>>();

  /** The role whose policy is exactly this version and operation; created once. */
  const roleFor = (fullName: string, version: string, operation: ModelVersionOperation): Promise<string> => {
    const prefix = versionPrefix(fullName, version);
    const suffix = operation === "MODEL_VERSION_OPERATION_READ" ? "read" : "write";
    const roleName = `uc-${createHash("sha256").update(prefix).digest("hex").slice(0, 24)}-${suffix}`;
    let role = roles.get(roleName);
    if (!role) {
      const iam = (action: string, params: Record<string, string>): Promise<string> => callAwsQuery(endpoint, uc.credentials, "iam", action, params);
      role = (async () => {
        const created = await iam("CreateRole", {
          RoleName: roleName,
          AssumeRolePolicyDocument: policy([{ Effect: "Allow", Principal: { AWS: uc.arn }, Action: "sts:AssumeRole" }]),
        });
        await iam("PutRolePolicy", {
          RoleName: roleName,
          PolicyName: "model-version-scope",
          PolicyDocument: scopedPolicy(BUCKET, prefix, operation),
        });
        const arn = xmlText(created, "Arn");
        if (!arn) throw new Error(`moto answered CreateRole ${roleName} without an Arn`);
        return arn;
      })();
      role.catch(() => roles.delete(roleName));
      roles.set(roleName, role);
    }
    return role;
  };

  const listKeys = async (prefix: string): Promise<string[]> => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { "list-type": "2", prefix, ...(token ? { "continuation-token": token } : {}) };
      const page = await callS3Ok(endpoint, uc.credentials, { method: "GET", bucket: BUCKET, query });
      keys.push(...xmlTexts(page.text, "Key"));
      token = xmlText(page.text, "NextContinuationToken");
    } while (token);
    return keys;
  };

  return {
    kind: "s3",
    endpoint,
    bucket: BUCKET,
    clientEnv,
    serverPid,
    versionPrefix,
    listKeys,
    storageLocation: (fullName, version) => `s3://${BUCKET}/${versionPrefix(fullName, version)}`,
    temporaryCredentials: async (fullName, version, operation) => {
      const roleArn = await roleFor(fullName, version, operation);
      const answer = await callAwsQuery(endpoint, uc.credentials, "sts", "AssumeRole", {
        RoleArn: roleArn,
        RoleSessionName: `uc-model-version-${version}`,
        DurationSeconds: String(MODEL_CREDENTIAL_TTL_MS / 1000),
      });
      const accessKeyId = xmlText(answer, "AccessKeyId");
      const secretAccessKey = xmlText(answer, "SecretAccessKey");
      const sessionToken = xmlText(answer, "SessionToken");
      const expiration = Date.parse(xmlText(answer, "Expiration") ?? "");
      if (!accessKeyId || !secretAccessKey || !sessionToken || Number.isNaN(expiration)) {
        throw new Error("moto answered AssumeRole without complete credentials");
      }
      return {
        storage_mode: "CUSTOMER_HOSTED",
        aws_temp_credentials: { access_key_id: accessKeyId, secret_access_key: secretAccessKey, session_token: sessionToken },
        expiration_time: expiration,
      };
    },
    remove: async (fullName, version) => {
      const prefix = version === undefined ? `${modelPrefix(fullName)}/` : `${versionPrefix(fullName, version)}/`;
      for (const key of await listKeys(prefix)) {
        await callS3Ok(endpoint, uc.credentials, { method: "DELETE", bucket: BUCKET, key });
      }
    },
    stop,
  };
}
