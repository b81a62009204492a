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
