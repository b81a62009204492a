// State shared by the emulator's routers. One object instead of many
// parameters, and the URL is a getter because the port is only known after
// the server listens, while the routers are built before.

import type { Response } from "express";
import type { BlobStore } from "./blob-store.js";
import type { ExperimentAccess } from "./experiment-access.js";
import type { FaultController } from "./faults.js";
import type { KeyRing } from "./keys.js";
import type { ModelStorage } from "./model-storage.js";
import type { MultipartUploads } from "./multipart-uploads.js";
import type { Directory, Principal } from "./principals.js";
import type { CallRecord, CredentialKind, DenyRule } from "./types.js";
import type { UcAccess } from "./uc-access.js";
import type { WorkspaceTree } from "./workspace-tree.js";

export interface EmulatorContext {
  /** http://127.0.0.1:<port> once listening. */
  url(): string;
  /** The workspace's own name for itself (http://<canonical host>:<port>), which its discovery document uses. */
  canonicalUrl(): string;
  readonly workspaceId: string;
  readonly directory: Directory;
  readonly keys: KeyRing;
  readonly faults: FaultController;
  readonly calls: CallRecord[];
  readonly deny: DenyRule[];
  readonly blobs: BlobStore;
  /** Files API multipart upload sessions and their parts, outside the blob store until completed. */
  readonly uploads: MultipartUploads;
  /** Base URL of the backing open-source mlflow server. */
  backingUrl(): string;
  readonly tokenTtlSeconds: number;
  /** Mutable: tests switch it at run time (WorkspaceEmulator.setUcModelArtifacts). */
  ucModelArtifacts: "presigned" | "sdk";
  /** Where UC model-version files live and which credentials reach them. */
  readonly modelStorage: ModelStorage;
  /** Folders and ACLs of the workspace tree (experiments are its objects too). */
  readonly workspace: WorkspaceTree;
  /** Resolves experiments (and the runs, models and traces in them) and checks access. */
  readonly experiments: ExperimentAccess;
  /** Unity Catalog's metastore (catalogs, schemas, volumes, grants) and its access decisions. */
  readonly unityCatalog: UcAccess;
}

/**
 * Issuer of every token the workspace mints: the canonical host's, which may differ from
 * the host a client was given (an alias, a regional host), so clients must take it from the
 * discovery document rather than build it from DATABRICKS_HOST.
 */
export function issuerOf(ctx: EmulatorContext): string {
  return `${ctx.canonicalUrl()}/oidc`;
}

/**
 * Audience of workspace tokens. Databricks does not document one; the
 * workspace id is stable and lets a verifier reject tokens meant elsewhere.
 */
export function audienceOf(ctx: EmulatorContext): string {
  return ctx.workspaceId;
}

/** Who made the current request; set by the auth middleware. */
export interface CallerLocals {
  principal?: Principal;
  credential?: CredentialKind;
  /** Blob calls: the principal the presented signed URL was issued to (set by blob-routes.ts). */
  signedFor?: Principal;
}

export function callerOf(res: Response): Principal {
  const principal = (res.locals as CallerLocals).principal;
  if (!principal) throw new Error("route reached without an authenticated principal");
  return principal;
}
