import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { isGatewayError } from "../../../src/errors.js";
import { assertPortAvailable, listen } from "../../../src/http/serve.js";

describe("taking the public port", () => {
  let holder: Server;
  let taken = 0;
  before(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    taken = (holder.address() as { port: number }).port;
  });
  after(() => holder.close());

  it("says which port is taken and how to choose another, before anything starts", async () => {
    await assert.rejects(assertPortAvailable("127.0.0.1", taken, "PORT"), (error: unknown) => {
      assert.ok(isGatewayError(error));
      assert.equal(error.code, "LISTEN_FAILED");
      assert.equal(
        error.message,
        `Port ${taken} on 127.0.0.1 is already in use. Fix: stop the other program (another gateway still running?), or choose another port: PORT=${taken + 1} npm run local`,
      );
      return true;
    });
  });

  it("on Databricks Apps, where the platform chose the port, says so instead", async () => {
    await assert.rejects(assertPortAvailable("127.0.0.1", taken, "DATABRICKS_APP_PORT"), /Databricks Apps chose this port \(DATABRICKS_APP_PORT\)/);
  });

  it("lets a free port through and leaves it free", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const free = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assertPortAvailable("127.0.0.1", free, "PORT");
    const { server } = await listen(() => undefined, "127.0.0.1", free);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await assertPortAvailable("127.0.0.1", 0, "PORT");
  });

  it("gives the same answer when the port is taken at the real bind", async () => {
    await assert.rejects(
      listen(() => undefined, "127.0.0.1", taken, { portVariable: "PORT" }),
      /is already in use\. Fix: .*PORT=\d+ npm run local/,
    );
  });
});
