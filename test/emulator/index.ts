// Databricks workspace emulator: a loopback HTTP server that answers like a
// workspace's REST API (OAuth/OIDC, SCIM, MLflow tracking, artifacts, Unity
// Catalog models) and keeps its state in a real open-source `mlflow server`
// started behind it. This file only wires the parts together and owns the
// lifecycle; each concern lives in its own module.

import http from "node:http";
import { randomInt } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import express from "express";
import { runArtifactRoot, artifactsRouter } from "./artifacts.js";
import { joinArtifactPath } from "./artifact-paths.js";
import { enforceDenyRules, requireBearer } from "./auth-middleware.js";
import { type BackingMlflow, startBackingMlflow } from "./backing-mlflow.js";
import { blobRouter } from "./blob-routes.js";
import { BlobStore } from "./blob-store.js";
import { countBodyBytes, recordCalls } from "./call-log.js";
import { type EmulatorContext, issuerOf } from "./context.js";
import { databricksErrorHandler, sendEndpointNotFound } from "./errors.js";
import { FaultController } from "./faults.js";
import { filesApiRouter } from "./files-api.js";
import { KeyRing } from "./keys.js";
import { defaultModelStorage, type ModelStorage } from "./model-storage.js";
import { MultipartUploads } from "./multipart-uploads.js";
import { mintToken, oauthRouter } from "./oauth.js";
import { Directory } from "./principals.js";
import { scimRouter } from "./scim.js";
import { ExperimentAccess } from "./experiment-access.js";
import { trackingRouter } from "./tracking-rules.js";
import { tracesV4Router } from "./traces-v4.js";
import { managedEvalsRouter } from "./managed-evals.js";
import { traceDataRouter } from "./trace-data.js";
import { workspaceApiRouter } from "./workspace-api.js";
import { WorkspaceTree } from "./workspace-tree.js";
import type { CallRecord, DenyRule, WorkspaceEmulator, WorkspaceEmulatorOptions } from "./types.js";
import { UcAccess } from "./uc-access.js";
import { UcStore } from "./uc-securables.js";
import { unityCatalogRouter } from "./unity-catalog.js";

export type * from "./types.js";
export type { FaultSettings } from "./faults.js";

/** The project's virtualenv, relative to this file, so any clone of the repo works. */
const DEFAULT_MLFLOW_BIN = process.env.MLFLOW_BIN ?? path.resolve(import.meta.dirname, "../../.venv/bin/mlflow");

function buildApp(ctx: EmulatorContext): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // Order matters: every request is recorded (it reads the principal later
  // stages set when it ends); every /api call is authenticated, checked
  // against deny rules and fault knobs before any service sees it.
  app.use(recordCalls(ctx));
  app.use(ctx.faults.latency());
  app.use(oauthRouter(ctx));
  app.use(blobRouter(ctx));
  app.use("/api", requireBearer(ctx), enforceDenyRules(ctx), ctx.faults.apiFaults());
  app.use(scimRouter(ctx));
  app.use(filesApiRouter(ctx));
  app.use(artifactsRouter(ctx));
  app.use(unityCatalogRouter(ctx));
  app.use(workspaceApiRouter(ctx));
  app.use(tracesV4Router(ctx));
  app.use(managedEvalsRouter(ctx));
  app.use(traceDataRouter(ctx));
  app.use(trackingRouter(ctx));
  app.use((req, res) => sendEndpointNotFound(res, req.method, req.originalUrl.split("?")[0] ?? ""));
  app.use(databricksErrorHandler);
  return app;
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

export async function startWorkspaceEmulator(options: WorkspaceEmulatorOptions = {}): Promise<WorkspaceEmulator> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), "dbx-workspace-emulator-")));
  await mkdir(path.join(dataDir, "blobs"), { recursive: true });
  await mkdir(path.join(dataDir, "artifacts"), { recursive: true });

  let url = "";
  let backing: BackingMlflow | undefined;
  const calls: CallRecord[] = [];
  const deny: DenyRule[] = [...(options.deny ?? [])];
  const blobs = new BlobStore(path.join(dataDir, "blobs"), () => url, options.signedUrlTtlSeconds ?? 900);
  // Next to the blobs, on the same file system: a completed upload is renamed into place.
  const uploads = new MultipartUploads(path.join(dataDir, "multipart"), blobs);
  const workspaceId = options.workspaceId ?? String(randomInt(1_000_000_000, 2_000_000_000)) + String(randomInt(100_000, 999_999));
  let modelStorage: ModelStorage;
  try {
    modelStorage = await (options.modelStorage ?? defaultModelStorage)({ workspaceId, blobs, dataDir });
  } catch (err) {
    if (ownsDataDir && !options.keepDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const directory = new Directory(options.users, options.groups, options.servicePrincipal, options.personalAccessTokens);
  const workspace = new WorkspaceTree(directory);
  const backingUrl = (): string => {
    if (!backing) throw new Error("backing mlflow server is not running");
    return backing.url;
  };
  const canonicalUrl = (): string => url.replace("127.0.0.1", options.canonicalHost ?? "localhost");
  const ctx: EmulatorContext = {
    url: () => url,
    canonicalUrl,
    workspaceId,
    directory,
    keys: await KeyRing.create(),
    faults: new FaultController(),
    calls,
    deny,
    blobs,
    uploads,
    backingUrl,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    ucModelArtifacts: options.ucModelArtifacts ?? "presigned",
    modelStorage,
    workspace,
    experiments: new ExperimentAccess(workspace, { backingUrl }),
    unityCatalog: new UcAccess(new UcStore(), directory),
  };

  const app = buildApp(ctx);
  const server = http.createServer((req, res) => {
    countBodyBytes(req);
    app(req, res);
  });
  const cleanup = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await backing?.stop();
    await modelStorage.stop();
    await uploads.discardAll();
    if (ownsDataDir && !options.keepDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const port = await listen(server, options.port ?? 0);
    url = `http://127.0.0.1:${port}`;
    backing = await startBackingMlflow({
      mlflowBin: options.mlflowBin ?? DEFAULT_MLFLOW_BIN,
      dbPath: path.join(dataDir, "db.sqlite"),
      artifactsDir: path.join(dataDir, "artifacts"),
      // Experiments get dbfs:/databricks/mlflow-tracking/<id>, runs .../<id>/<run>/artifacts.
      defaultArtifactRoot: "dbfs:/databricks/mlflow-tracking",
      startTimeoutMs: options.mlflowStartTimeoutMs ?? 60_000,
      ...(options.onMlflowLog ? { onLog: options.onMlflowLog } : {}),
    });
  } catch (err) {
    await cleanup();
    throw err;
  }

  const sp = directory.servicePrincipal;
  let stopped: Promise<void> | undefined;
  const backingMlflowUrl = backing.url;
  return {
    url,
    issuer: issuerOf(ctx),
    workspaceId: ctx.workspaceId,
    servicePrincipal: { id: sp.id, applicationId: sp.name, secret: sp.secret ?? "", displayName: sp.displayName },
    users: directory.users.map((u) => ({
      id: u.id,
      userName: u.name,
      displayName: u.displayName,
      groups: u.groupIds.map((id) => directory.findGroup(id)?.displayName ?? id),
    })),
    calls,
    faults: ctx.faults,
    backingMlflowUrl,
    modelStorage,
    dataDir,
    currentKeyId: () => ctx.keys.currentKid(),
    rotateKeys: async (opts = {}) => {
      const grace = opts.dropPrevious ? 0 : (opts.graceSeconds ?? options.rotationGraceSeconds ?? 300);
      return ctx.keys.rotate(grace);
    },
    mintUserToken: async ({ userName, ...rest }) => {
      const user = directory.users.find((u) => u.name === userName);
      if (!user) throw new Error(`unknown user ${userName}`);
      // User tokens come from U2M flows, whose OAuth client is the Databricks CLI.
      return mintToken(ctx, user, "databricks-cli", rest);
    },
    mintServicePrincipalToken: async (opts = {}) => mintToken(ctx, sp, sp.name, opts),
    addPersonalAccessToken: (principal, token) => directory.addPat(principal, token),
    addDenyRule: (rule) => {
      deny.push(rule);
    },
    clearDenyRules: () => {
      deny.length = 0;
    },
    clearCalls: () => {
      calls.length = 0;
    },
    setUcModelArtifacts: (mode) => {
      ctx.ucModelArtifacts = mode;
    },
    putRunArtifact: async (runId, artifactPath, bytes) => {
      const root = await runArtifactRoot(ctx, runId);
      await ctx.blobs.write(joinArtifactPath(root, artifactPath), typeof bytes === "string" ? Buffer.from(bytes) : bytes);
    },
    getRunArtifact: async (runId, artifactPath) => {
      const root = await runArtifactRoot(ctx, runId);
      const p = joinArtifactPath(root, artifactPath);
      const s = await ctx.blobs.stat(p);
      if (!s || s.isDir) return undefined;
      return readFile(ctx.blobs.filePath(p));
    },
    stop: () => {
      stopped ??= cleanup();
      return stopped;
    },
  };
}
