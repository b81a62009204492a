import { startGateway } from "./gateway-process.js";

/** Set by test/support/run-integration.ts: one gateway (and one mlflow server) for every non-destructive scenario. */
export const SHARED_GATEWAY_ENV = "TEST_SHARED_GATEWAY_URL";

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
  const gateway = await startGateway();
  return {
    url: gateway.url,
    release: async () => {
      await gateway.stop();
    },
  };
}
