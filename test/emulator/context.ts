// State shared by the emulator's routers. One object instead of many
// parameters, and the URL is a getter because the port is only known after
// the server listens, while the routers are built before.

import type { Response } from "express";
import type { BlobStore } from "./blob-store.js";
import type { FaultController } from "./faults.js";
import type { KeyRing } from "./keys.js";
import type { ModelStorage } from "./model-storage.js";
import type { Directory, Principal } from "./principals.js";
import type { CallRecord, CredentialKind, DenyRule } from "./types.js";

export interface EmulatorContext {
  /** http://127.0.0.1:<port> once listening. */
  url(): string;
  readonly workspaceId: string;
  readonly directory: Directory;
  readonly keys: KeyRing;
  readonly faults: FaultController;
  readonly calls: CallRecord[];
  readonly deny: DenyRule[];
  readonly blobs: BlobStore;
  /** Base URL of the backing open-source mlflow server. */
  backingUrl(): string;
  readonly tokenTtlSeconds: number;
  readonly ucModelArtifacts: "presigned" | "sdk";
  /** Where UC model-version files live and which credentials reach them. */
  readonly modelStorage: ModelStorage;
  readonly strictExperimentNames: boolean;
}

/** Issuer of every token the workspace mints. */
export function issuerOf(ctx: EmulatorContext): string {
  return `${ctx.url()}/oidc`;
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
}

export function callerOf(res: Response): Principal {
  const principal = (res.locals as CallerLocals).principal;
  if (!principal) throw new Error("route reached without an authenticated principal");
  return principal;
}
