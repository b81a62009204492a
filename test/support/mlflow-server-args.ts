/**
 * The one builder of `mlflow server` command lines for the tests' own servers (the
 * workspace emulator's backing server, the child started straight against the emulator).
 * The gateway builds its child's in src/supervisor/child-command.ts; these stay on
 * loopback with one worker, as 2-core machines need.
 */
export interface MlflowServerOptions {
  port: number;
  backendStoreUri: string;
  registryStoreUri?: string;
  defaultArtifactRoot?: string;
  /** Serve artifacts (proxied artifact routes) from this folder. */
  artifactsDestination?: string;
}

export function mlflowServerArgs(options: MlflowServerOptions): string[] {
  const args = ["server", "--host", "127.0.0.1", "--port", String(options.port), "--workers", "1", "--backend-store-uri", options.backendStoreUri];
  if (options.registryStoreUri !== undefined) args.push("--registry-store-uri", options.registryStoreUri);
  if (options.defaultArtifactRoot !== undefined) args.push("--default-artifact-root", options.defaultArtifactRoot);
  if (options.artifactsDestination !== undefined) args.push("--serve-artifacts", "--artifacts-destination", options.artifactsDestination);
  return args;
}
