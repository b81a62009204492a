import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { execa } from "execa";
import { ENTRY, GATEWAY_NODE } from "../support/gateway-process.js";

async function runGateway(env: Record<string, string>) {
  return await execa(GATEWAY_NODE, [ENTRY], { env: { PATH: process.env["PATH"] ?? "", ...env }, extendEnv: false, reject: false, timeout: 20_000 });
}

describe("a gateway started with bad configuration", () => {
  it("exits non-zero listing every problem, without starting anything", async () => {
    const result = await runGateway({ MLFLOW_TRACKING_URI: "databricks", PORT: "http", DATABRICKS_CLIENT_SECRET: "top-secret-value" });
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /Configuration is invalid \(4 problems\)/);
    assert.match(result.stderr, /PORT: "http" is not a TCP port number/);
    assert.match(result.stderr, /DATABRICKS_HOST: is not set/);
    assert.match(result.stderr, /DATABRICKS_CLIENT_ID: is not set/);
    assert.match(result.stderr, /GATEWAY_AUDIT_HMAC_KEY: is not set/);
    assert.ok(!`${result.stdout}${result.stderr}`.includes("top-secret-value"), "the secret is never printed");
    const logLine = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as { code?: string; problems?: unknown[] };
    assert.equal(logLine.code, "CONFIG_INVALID");
    assert.equal(logLine.problems?.length, 4);
  });

  it("says which port is taken when it cannot listen", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const result = await runGateway({ PORT: String(port), GATEWAY_LISTEN_HOST: "127.0.0.1" });
      assert.equal(result.exitCode, 3);
      assert.match(result.stderr, new RegExp(`Port ${port} on 127.0.0.1 is already in use`));
    } finally {
      blocker.close();
    }
  });

  it("says where it looked when it cannot find mlflow", async () => {
    const result = await runGateway({ PATH: "/nonexistent", GATEWAY_MLFLOW_BIN: "/nope/mlflow" });
    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /GATEWAY_MLFLOW_BIN=\/nope\/mlflow is not an executable file/);
  });
});
