import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";

/** The pids of a process group, read from /proc (field 5 of /proc/<pid>/stat is the group). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name (field 2) may hold spaces and parentheses: read after its closing one.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const state = fields[0];
      if (Number(fields[2]) === pgid && state !== "Z") members.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return members;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

let restarted: GatewayProcess | undefined;
after(async () => {
  await restarted?.stop();
});

describe("a gateway killed with SIGKILL", () => {
  it("leaves no process of its mlflow server behind, frees the port, and a new gateway starts cleanly on it", async () => {
    const gateway = await startGateway({ env: { GATEWAY_MLFLOW_WORKERS: "2" } });
    const childPid = await gateway.childPid();
    const ready = gateway.logs.find((l) => l.message === "mlflow server is ready");
    const childPort = Number(new URL(String(ready?.["url"])).port);
    // The server, uvicorn and its two workers: all in the child's own process group.
    const before = groupMembers(childPid);
    assert.ok(before.length >= 3, `expected the server and its workers in group ${childPid}, found ${before.join(", ")}`);

    gateway.process.kill("SIGKILL");
    await gateway.process;
    const killedAt = Date.now();
    let survivors = groupMembers(childPid);
    while (survivors.length > 0 && Date.now() - killedAt < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      survivors = groupMembers(childPid);
    }
    if (survivors.length > 0) {
      // Fail, but never leave the orphans to the rest of the suite.
      process.kill(-childPid, "SIGKILL");
      assert.fail(`still running 10 s after the gateway died: ${survivors.join(", ")}`);
    }
    const goneAfterMs = Date.now() - killedAt;
    assert.equal(await portAnswers(childPort), false, `port ${childPort} is still taken`);

    // A platform restart: the same data folder and the same internal port.
    restarted = await startGateway({ env: { GATEWAY_DATA_DIR: gateway.dataDir ?? "", GATEWAY_MLFLOW_PORT: String(childPort) }, tempDataDir: false });
    const health = await fetch(`${restarted.url}/api/2.0/mlflow/experiments/search?max_results=1`);
    assert.equal(health.status, 200);
    if (process.env["TEST_VERBOSE"]) console.log(`child group gone ${goneAfterMs} ms after SIGKILL`);
  });
});
