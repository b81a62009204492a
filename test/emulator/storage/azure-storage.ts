// Customer-hosted Unity Catalog model storage on ADLS Gen2, played by Azurite
// (Microsoft's storage emulator, blob service) behind the DFS front in
// adls-front.ts. generate-temporary-credentials answers CUSTOMER_HOSTED +
// azure_user_delegation_sas, and MLflow then uses its
// AzureDataLakeArtifactRepository (mlflow/utils/_unity_catalog_utils.py).
//
// How it mirrors Databricks: Unity Catalog's access connector (an Entra ID
// identity) fetches a user delegation key and signs a SAS with it, read-only
// (sp=rl) for MODEL_VERSION_OPERATION_READ and read-write (sp=racwl) for
// READ_WRITE; Azurite validates signature, key, lifetimes and permissions.
// The SAS is container-scoped (sr=c): a directory SAS (sr=d, sdd) needs a
// hierarchical-namespace account, which Azurite does not have (its
// BlobSASAuthenticator only accepts sr=c, b, bs).
//
// The host trick: MLflow always calls https://<account>.<domain_suffix>, with
// account and suffix split from the abfss netloc at the first dot
// (azure_data_lake_artifact_repo.py, _parse_abfss_uri). The storage location
// abfss://<container>@127.0.0.1:<front port>/... therefore yields
// https://127.0.0.1:<front port>, the front, without touching /etc/hosts.

import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { type ModelStorage, type ModelStorageFactory, type ModelVersionOperation, MODEL_CREDENTIAL_TTL_MS } from "../model-storage.js";
import { type AdlsFront, startAdlsFront } from "./adls-front.js";
import { type EntraPrincipal, SAS_VERSION, entraAccessToken, getUserDelegationKey, signUserDelegationSas } from "./azure-sas.js";
import { httpsCall } from "./https-call.js";
import { createLoopbackTls } from "./loopback-tls.js";
import { freePort, startServerProcess } from "../server-process.js";
import { xmlText, xmlTexts } from "./xml.js";

const DEFAULT_AZURITE_BIN = process.env.AZURITE_BLOB_BIN ?? path.resolve(import.meta.dirname, "../../tools/node_modules/.bin/azurite-blob");
const AZURITE_START_TIMEOUT_MS = 30_000;
const ACCOUNT = "ucmetastore";
const CONTAINER = "unity-catalog";
/** SAS start is back-dated, as Azure advises, so small clock skew cannot make a fresh SAS "not yet valid". */
const SAS_START_SKEW_MS = 60_000;
const PERMISSIONS: Record<ModelVersionOperation, string> = {
  MODEL_VERSION_OPERATION_READ: "rl",
  MODEL_VERSION_OPERATION_READ_WRITE: "racwl",
};

export interface AzureStorageOptions {
  /** Path of azurite-blob (default: test/tools/node_modules, or $AZURITE_BLOB_BIN). */
  azuriteBin?: string;
  startTimeoutMs?: number;
}

export interface SasLifetime {
  start: Date;
  expiry: Date;
}

export interface AzureModelStorage extends ModelStorage {
  readonly kind: "azure";
  readonly account: string;
  readonly container: string;
  /** The DFS front MLflow talks to, https://127.0.0.1:<port>. */
  readonly frontUrl: string;
  /** Azurite's blob service for this account, https://127.0.0.1:<port>/<account>. */
  readonly blobServiceUrl: string;
  /** PEM of the CA behind both loopback certificates. */
  readonly caPem: string;
  /** REQUESTS_CA_BUNDLE and SSL_CERT_FILE: the Azure SDK (requests) must trust the loopback CA. */
  readonly clientEnv: Record<string, string>;
  /** Path of a model version inside the container (no leading or trailing slash). */
  versionPath(fullName: string, version: string): string;
  /** Blob names under a prefix, read as the Unity Catalog identity. */
  listBlobs(prefix: string): Promise<string[]>;
  /** Process id of Azurite (its process group), so tests can check it is gone. */
  readonly serverPid: number;
  /** A SAS exactly like temporaryCredentials' but with the given lifetime (tests of expiry). */
  sasToken(operation: ModelVersionOperation, lifetime: SasLifetime): Promise<string>;
}

/** Blob service headers of calls the access connector makes with its own (OAuth) identity. */
const connectorHeaders = (connector: EntraPrincipal): Record<string, string> => ({
  authorization: `Bearer ${entraAccessToken(connector)}`,
  "x-ms-version": SAS_VERSION,
});

export function azureModelStorage(options: AzureStorageOptions = {}): ModelStorageFactory {
  return async ({ workspaceId, dataDir }) => {
    const dir = path.join(dataDir, "azurite");
    await mkdir(path.join(dir, "tls"), { recursive: true });
    await mkdir(path.join(dir, "data"), { recursive: true });
    const tls = await createLoopbackTls(path.join(dir, "tls"));
    const port = await freePort();
    const blobServiceUrl = `https://127.0.0.1:${port}/${ACCOUNT}`;
    const server = await startServerProcess({
      name: "azurite-blob",
      command: options.azuriteBin ?? DEFAULT_AZURITE_BIN,
      args: [
        ["--blobHost", "127.0.0.1", "--blobPort", String(port), "--location", path.join(dir, "data")],
        // https with --oauth basic: Get User Delegation Key needs a bearer token, and Azurite takes bearer tokens only over https.
        ["--cert", tls.certFile, "--key", tls.keyFile, "--oauth", "basic"],
        // The Python SDK sends API versions newer than Azurite knows; no telemetry calls from tests.
        ["--skipApiVersionCheck", "--disableTelemetry", "--silent"],
      ].flat(),
      // A random account key: nothing can Shared-Key sign, access is by OAuth or SAS only.
      env: { AZURITE_ACCOUNTS: `${ACCOUNT}:${randomBytes(64).toString("base64")}` },
      isReady: async () => (await httpsCall({ url: `${blobServiceUrl}?comp=list`, method: "GET", ca: tls.caPem })).status > 0,
      startTimeoutMs: options.startTimeoutMs ?? AZURITE_START_TIMEOUT_MS,
    });
    let front: AdlsFront | undefined;
    try {
      const connector: EntraPrincipal = { objectId: randomUUID(), tenantId: randomUUID() };
      const created = await httpsCall({
        url: `${blobServiceUrl}/${CONTAINER}?restype=container`,
        method: "PUT",
        ca: tls.caPem,
        headers: connectorHeaders(connector),
      });
      if (created.status !== 201) throw new Error(`Create Container answered ${created.status}: ${created.body.toString("utf8").slice(0, 300)}`);
      front = await startAdlsFront({
        blobServiceUrl,
        certPem: await readFile(tls.certFile, "utf8"),
        keyPem: await readFile(tls.keyFile, "utf8"),
        caPem: tls.caPem,
      });
      const stopAll = async (): Promise<void> => {
        await front?.stop();
        await server.stop();
      };
      return createAzureStorage({
        workspaceId,
        blobServiceUrl,
        front,
        caPem: tls.caPem,
        bundleFile: tls.bundleFile,
        connector,
        serverPid: server.pid,
        stop: stopAll,
      });
    } catch (err) {
      await front?.stop();
      await server.stop();
      throw new Error(`Azure model storage: Azurite set-up failed: ${String(err)}\n${server.logTail()}`, { cause: err });
    }
  };
}

interface AzureStorageParts {
  workspaceId: string;
  blobServiceUrl: string;
  front: AdlsFront;
  caPem: string;
  bundleFile: string;
  connector: EntraPrincipal;
  serverPid: number;
  stop: () => Promise<void>;
}

function createAzureStorage(parts: AzureStorageParts): AzureModelStorage {
  const { workspaceId, blobServiceUrl, front, caPem, connector } = parts;
  const modelPath = (fullName: string): string => `${workspaceId}/models/${fullName.split(".").join("/")}`;
  const versionPath = (fullName: string, version: string): string => `${modelPath(fullName)}/${version}`;

  const sasToken = async (operation: ModelVersionOperation, lifetime: SasLifetime): Promise<string> => {
    // The key is valid now whatever the SAS lifetime, so a test's expired SAS fails on its own se, not the key's.
    const now = Date.now();
    const keyStart = new Date(Math.min(lifetime.start.getTime(), now - SAS_START_SKEW_MS));
    const keyExpiry = new Date(Math.max(lifetime.expiry.getTime(), now + MODEL_CREDENTIAL_TTL_MS));
    const key = await getUserDelegationKey(blobServiceUrl, caPem, connector, keyStart, keyExpiry);
    return signUserDelegationSas(key, { account: ACCOUNT, container: CONTAINER, permissions: PERMISSIONS[operation], ...lifetime });
  };

  const listBlobs = async (prefix: string): Promise<string[]> => {
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const query = new URLSearchParams({ restype: "container", comp: "list", prefix, ...(marker ? { marker } : {}) });
      const page = await httpsCall({
        url: `${blobServiceUrl}/${CONTAINER}?${query.toString()}`,
        method: "GET",
        ca: caPem,
        headers: connectorHeaders(connector),
      });
      const xml = page.body.toString("utf8");
      if (page.status !== 200) throw new Error(`List Blobs answered ${page.status}: ${xmlText(xml, "Code") ?? ""}`);
      names.push(...xmlTexts(xml, "Name"));
      marker = xmlText(xml, "NextMarker") || undefined;
    } while (marker);
    return names;
  };

  return {
    kind: "azure",
    account: ACCOUNT,
    container: CONTAINER,
    frontUrl: front.url,
    blobServiceUrl,
    caPem,
    serverPid: parts.serverPid,
    clientEnv: { REQUESTS_CA_BUNDLE: parts.bundleFile, SSL_CERT_FILE: parts.bundleFile },
    versionPath,
    listBlobs,
    sasToken,
    storageLocation: (fullName, version) => `abfss://${CONTAINER}@127.0.0.1:${front.port}/${versionPath(fullName, version)}`,
    temporaryCredentials: async (_fullName, _version, operation) => {
      const now = Date.now();
      const expiry = new Date(now + MODEL_CREDENTIAL_TTL_MS);
      const sas = await sasToken(operation, { start: new Date(now - SAS_START_SKEW_MS), expiry });
      return { storage_mode: "CUSTOMER_HOSTED", azure_user_delegation_sas: { sas_token: sas }, expiration_time: expiry.getTime() };
    },
    remove: async (fullName, version) => {
      const prefix = version === undefined ? `${modelPath(fullName)}/` : `${versionPath(fullName, version)}/`;
      for (const name of await listBlobs(prefix)) {
        const blobPath = name.split("/").map(encodeURIComponent).join("/");
        const deleted = await httpsCall({
          url: `${blobServiceUrl}/${CONTAINER}/${blobPath}`,
          method: "DELETE",
          ca: caPem,
          headers: connectorHeaders(connector),
        });
        if (deleted.status !== 202 && deleted.status !== 404) throw new Error(`Delete Blob ${name} answered ${deleted.status}`);
      }
    },
    stop: parts.stop,
  };
}
