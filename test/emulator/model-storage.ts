// Where Unity Catalog keeps model-version files, and the temporary credentials
// it hands out for them (POST /api/2.0/mlflow/unity-catalog/model-versions/
// generate-temporary-credentials). MLflow picks its artifact repository from
// the answer (mlflow/utils/_unity_catalog_utils.py,
// get_artifact_repo_from_storage_info; store/_unity_catalog/registry/
// rest_store.py, _get_artifact_repo):
//   DEFAULT_STORAGE  -> PresignedUrlArtifactRepository (/api/2.0/fs/create-*-url
//                       and /api/2.0/fs/directories/Models/...)
//   CUSTOMER_HOSTED  -> the cloud's own client with the credentials given
//                       (aws_temp_credentials, azure_user_delegation_sas, ...).
// The default storage keeps files in the emulator's blob store at
// /Models/<catalog>/<schema>/<model>/<version>; other kinds of storage plug in
// through this interface.

import { ucModelVersionPath } from "./artifact-paths.js";
import type { BlobStore } from "./blob-store.js";

export type ModelVersionOperation = "MODEL_VERSION_OPERATION_READ" | "MODEL_VERSION_OPERATION_READ_WRITE";

/** The `credentials` object of a GenerateTemporaryModelVersionCredentials answer (databricks_uc_registry_messages.proto). */
export type TemporaryCredentials = Record<string, unknown> & { expiration_time: number };

export interface ModelStorage {
  /** Short name for logs and test titles: "default", "s3", "azure". */
  readonly kind: string;
  /** The model version's storage_location, as get-download-uri and model-versions/get report it. */
  storageLocation(fullName: string, version: string): string;
  /** Credentials scoped to that location for the operation. */
  temporaryCredentials(fullName: string, version: string, operation: ModelVersionOperation): Promise<TemporaryCredentials>;
  /** Deletes a version's files, or (without a version) every version's files of a model. */
  remove(fullName: string, version?: string): Promise<void>;
  /**
   * Environment a process running MLflow (the Python client, the gateway's
   * `mlflow server` child) needs to reach this storage, e.g. a custom S3
   * endpoint or a CA bundle; absent when nothing is needed.
   */
  readonly clientEnv?: Record<string, string>;
  /** Stops whatever the storage started (servers); idempotent. */
  stop(): Promise<void>;
}

/** What a storage needs from the emulator to start. */
export interface ModelStorageEnvironment {
  workspaceId: string;
  blobs: BlobStore;
  /** The emulator's data folder; a storage may keep its own files below it. */
  dataDir: string;
}

/** Builds (and starts) a model storage for one emulator. */
export type ModelStorageFactory = (env: ModelStorageEnvironment) => Promise<ModelStorage>;

/** Lifetime of model-version credentials; Databricks issues them for about 15 minutes. */
export const MODEL_CREDENTIAL_TTL_MS = 15 * 60 * 1000;

/** Databricks-managed storage: no cloud credentials, MLflow switches to presigned URLs from /api/2.0/fs. */
export const defaultModelStorage: ModelStorageFactory = ({ workspaceId, blobs }) =>
  Promise.resolve({
    kind: "default",
    storageLocation: (fullName, version) => `s3://databricks-workspace-emulator/${workspaceId}${ucModelVersionPath(fullName, version)}`,
    temporaryCredentials: () => Promise.resolve({ storage_mode: "DEFAULT_STORAGE", expiration_time: Date.now() + MODEL_CREDENTIAL_TTL_MS }),
    remove: async (fullName, version) => {
      const folder = version === undefined ? `/Models/${fullName.split(".").join("/")}` : ucModelVersionPath(fullName, version);
      await blobs.remove(folder, true);
    },
    stop: () => Promise.resolve(),
  });

/**
 * A metastore whose catalogs keep their models in different places, as Unity Catalog
 * allows (a managed location per catalog: docs.databricks.com/connect/unity-catalog/
 * managed-storage): the catalogs named here use their own storage, every other catalog
 * the fallback. One emulator (and one gateway) then covers every storage mode.
 */
export function modelStorageByCatalog(
  byCatalog: Record<string, ModelStorageFactory>,
  fallback: ModelStorageFactory = defaultModelStorage,
): ModelStorageFactory {
  return async (env) => {
    const started: Array<[string, ModelStorage]> = [];
    try {
      for (const [catalog, factory] of Object.entries(byCatalog)) started.push([catalog.toLowerCase(), await factory(env)]);
      started.push(["", await fallback(env)]);
    } catch (err) {
      await Promise.all(started.map(([, storage]) => storage.stop()));
      throw err;
    }
    const storages = new Map(started);
    const of = (fullName: string): ModelStorage => storages.get((fullName.split(".")[0] ?? "").toLowerCase()) ?? (storages.get("") as ModelStorage);
    const clientEnv = Object.assign({}, ...started.map(([, storage]) => storage.clientEnv ?? {})) as Record<string, string>;
    return {
      kind: started.map(([catalog, storage]) => `${catalog || "*"}:${storage.kind}`).join(","),
      storageLocation: (fullName, version) => of(fullName).storageLocation(fullName, version),
      temporaryCredentials: (fullName, version, operation) => of(fullName).temporaryCredentials(fullName, version, operation),
      remove: (fullName, version) => of(fullName).remove(fullName, version),
      clientEnv,
      stop: async () => {
        await Promise.all(started.map(([, storage]) => storage.stop()));
      },
    };
  };
}
