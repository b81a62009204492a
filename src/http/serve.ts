import { createServer, type RequestListener, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import type { PortVariable } from "../config/config.js";
import { GatewayError } from "../errors.js";
import type { Capacity } from "./capacity.js";
import { sleep } from "../supervisor/wait-for-health.js";

/** How often idle keep-alive connections are closed while draining. */
const DRAIN_POLL_MS = 100;
/**
 * Idle keep-alive connections from clients close after this long. Above the Databricks
 * Apps front door's reuse window is not needed: it reconnects on close.
 */
export const CLIENT_KEEP_ALIVE_MS = 65_000;
/**
 * Node's default (16 KB) answers an oversized header with a bare 431 before the gateway
 * sees it; a little more room lets identity failures get their proper 401 and body.
 */
export const MAX_HEADER_BYTES = 32 * 1024;
/**
 * A client has this long to send its request line and headers; then Node answers 408 and
 * closes. Without it (Node's default is 60 s) a slow-header client (slowloris) holds a
 * connection for a minute per few bytes.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
/** How often Node checks connections against that limit: its default (30 s) would triple it. */
const CONNECTION_CHECK_MS = 1_000;

export async function listen(
  handler: RequestListener,
  host: string,
  port: number,
  options: { capacity?: Capacity; portVariable?: PortVariable } = {},
): Promise<{ server: Server; port: number }> {
  // requestTimeout stays off: artifact bodies may take long; the headers may not.
  const server = createServer(
    {
      keepAliveTimeout: CLIENT_KEEP_ALIVE_MS,
      requestTimeout: 0,
      headersTimeout: HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTION_CHECK_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    handler,
  );
  // Counting starts before the first connection can arrive.
  options.capacity?.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, host, port, options.portVariable ?? "PORT")));
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts what
 * is left. Resolves true when everything finished in time.
 */
export async function drain(server: Server, graceMs: number): Promise<boolean> {
  let closed = false;
  const done = new Promise<void>((resolve) => server.close(() => resolve())).then(() => {
    closed = true;
  });
  const deadline = Date.now() + graceMs;
  while (!closed && Date.now() < deadline) {
    // Connections that finished their request are idle now; close them so close() can end.
    server.closeIdleConnections();
    await Promise.race([done, sleep(DRAIN_POLL_MS)]);
  }
  if (!closed) {
    server.closeAllConnections();
    await done;
    return false;
  }
  return true;
}

/**
 * Fails at once, before the child spends seconds starting, when the public port cannot be
 * had (another gateway still running is the usual cause). listen() reports the same
 * problems should the port be taken between this check and the real bind.
 */
export async function assertPortAvailable(host: string, port: number, portVariable: PortVariable): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, host, port, portVariable)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number, portVariable: PortVariable): Error {
  if (error.code === "EADDRINUSE") {
    const fix =
      portVariable === "DATABRICKS_APP_PORT"
        ? "Databricks Apps chose this port (DATABRICKS_APP_PORT) for the gateway: stop the other process of the app that listens on it."
        : `stop the other program (another gateway still running?), or choose another port: PORT=${port === 65_535 ? 8001 : port + 1} npm run local`;
    return new GatewayError("LISTEN_FAILED", `Port ${port} on ${host} is already in use. Fix: ${fix}`);
  }
  if (error.code === "EACCES") {
    return new GatewayError(
      "LISTEN_FAILED",
      `Not allowed to listen on ${host}:${port}. Fix: use a port above 1023, or run with the needed privilege.`,
    );
  }
  if (error.code === "EADDRNOTAVAIL") {
    return new GatewayError(
      "LISTEN_FAILED",
      `${host} is not an address of this machine. Fix: set GATEWAY_LISTEN_HOST to 127.0.0.1, 0.0.0.0 or one of its addresses.`,
    );
  }
  return error;
}
