import { startGateway } from "./gateway-process.js";

/** Set by test/support/run-integration.ts: one gateway (and one mlflow server) for every non-destructive scenario. */
export const SHARED_GATEWAY_ENV = "TEST_SHARED_GATEWAY_URL";

/**
 * The shared gateway's connection cap: low enough that a test can open more connections
 * than it (hostile-clients.test.ts), far above what the other scenarios hold at once.
 */
export const SHARED_GATEWAY_MAX_CONNECTIONS = 200;
/** The environment every shared gateway starts with. */
export const SHARED_GATEWAY_SETTINGS: Readonly<Record<string, string>> = { GATEWAY_MAX_CONNECTIONS: String(SHARED_GATEWAY_MAX_CONNECTIONS) };

export interface SharedGateway {
  url: string;
  release(): Promise<void>;
}

/**
 * The suite's shared gateway when the integration runner started one; otherwise (a file
 * run on its own) a private one that `release()` stops. Scenarios that kill, freeze or
 * stop the child must start their own with startGateway() instead.
 */
export async function useSharedGateway(): Promise<SharedGateway> {
  const shared = process.env[SHARED_GATEWAY_ENV];
  if (shared) return { url: shared, release: () => Promise.resolve() };
  const gateway = await startGateway({ env: { ...SHARED_GATEWAY_SETTINGS } });
  return {
    url: gateway.url,
    release: async () => {
      await gateway.stop();
    },
  };
}
