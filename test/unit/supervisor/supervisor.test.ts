import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { findFreePort } from "../../../src/supervisor/free-port.js";
import { RestartPolicy } from "../../../src/supervisor/restart-policy.js";
import { Supervisor, type SupervisorStatus } from "../../../src/supervisor/supervisor.js";
import { captureLogger } from "../../support/capture-logger.js";
import { waitUntil } from "../../support/wait-for.js";

const FAKE = path.resolve(import.meta.dirname, "../../fixtures/fake-mlflow.mjs");
const FAST_POLICY = { initialDelayMs: 50, maxDelayMs: 200, factor: 2, crashLoopThreshold: 3, stableAfterMs: 60_000 };

async function supervise(mode: string, extra: { startTimeoutMs?: number; monitorIntervalMs?: number } = {}) {
  const port = await findFreePort();
  const log = captureLogger();
  const supervisor = new Supervisor({
    command: { file: FAKE, args: ["server", "--port", String(port)], env: { ...process.env, FAKE_MLFLOW_MODE: mode } },
    port,
    startTimeoutMs: extra.startTimeoutMs ?? 10_000,
    logger: log.logger,
    policy: new RestartPolicy(FAST_POLICY),
    stopTimeoutMs: 1_000,
    monitorIntervalMs: extra.monitorIntervalMs ?? 60_000,
    monitorFailureThreshold: 2,
  });
  const phases: string[] = [];
  supervisor.onStatusChange((status: SupervisorStatus) => phases.push(status.phase));
  return { supervisor, log, phases };
}

function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  return waitUntil("the supervisor's state", condition, { timeoutMs, intervalMs: 20 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("Supervisor", () => {
  it("reports ready once /health answers, and forwards child output tagged as mlflow", async () => {
    const { supervisor, log, phases } = await supervise("healthy");
    supervisor.start();
    assert.equal(await supervisor.waitUntilReady(10_000), true);
    assert.equal(supervisor.status().phase, "ready");
    await supervisor.stop();
    assert.deepEqual(phases, ["starting", "ready", "stopping", "stopped"]);
    assert.ok(log.lines.some((line) => line["source"] === "mlflow" && String(line["message"]).includes("fake mlflow: listening")));
  });

  it("stops the whole process group, grandchildren included", async () => {
    const { supervisor, log } = await supervise("grandchild");
    supervisor.start();
    assert.equal(await supervisor.waitUntilReady(10_000), true);
    await until(() => log.lines.some((l) => String(l["message"]).includes("worker pid")), 5_000);
    const line = log.lines.find((l) => String(l["message"]).includes("worker pid"));
    const workerPid = Number(/worker pid (\d+)/.exec(String(line?.["message"]))?.[1]);
    assert.ok(alive(workerPid));
    await supervisor.stop();
    await until(() => !alive(workerPid), 3_000);
  });

  it("notices a killed leader even while its orphaned worker holds the output pipes", async () => {
    const { supervisor, log } = await supervise("grandchild");
    supervisor.start();
    assert.equal(await supervisor.waitUntilReady(10_000), true);
    await until(() => log.lines.some((l) => String(l["message"]).includes("worker pid")), 5_000);
    const workerPid = Number(/worker pid (\d+)/.exec(String(log.lines.find((l) => String(l["message"]).includes("worker pid"))?.["message"]))?.[1]);
    const leader = supervisor.status().pid ?? 0;
    process.kill(leader, "SIGKILL");
    await until(() => supervisor.status().restarts === 1, 5_000);
    assert.equal(supervisor.status().lastExit?.reason, "killed by SIGKILL");
    await until(() => !alive(workerPid), 3_000);
    assert.equal(await supervisor.waitUntilReady(10_000), true, "the restarted child becomes ready");
    await supervisor.stop();
  });

  it("restarts a crashing child with backoff and reports a crash loop with its last output", async () => {
    const { supervisor, log } = await supervise("crash");
    supervisor.start();
    await until(() => supervisor.status().crashLoop, 10_000);
    const status = supervisor.status();
    assert.ok(status.restarts >= FAST_POLICY.crashLoopThreshold);
    assert.equal(status.lastExit?.code, 1);
    assert.equal(status.lastExit?.reason, "exited with code 1");
    assert.ok(status.lastExit?.lastLines.some((l) => l.includes("cannot open the backend store")));
    const loopLine = log.lines.find((l) => String(l["message"]).includes("crash loop"));
    assert.equal(loopLine?.["level"], "error");
    assert.ok(Array.isArray(loopLine?.["lastLines"]));
    assert.equal(supervisor.isReady(), false);
    await supervisor.stop();
    assert.equal(supervisor.status().phase, "stopped");
  });

  it("gives up on a start that never becomes healthy and tries again", async () => {
    const { supervisor } = await supervise("hang", { startTimeoutMs: 1_000 });
    supervisor.start();
    await until(() => supervisor.status().restarts >= 1, 10_000);
    assert.match(supervisor.status().lastExit?.reason ?? "", /did not answer \/health within 1000 ms/);
    await supervisor.stop();
  });

  it("kills and restarts a ready child that stops answering /health", async () => {
    const { supervisor, log } = await supervise("sick-after-ready", { monitorIntervalMs: 100 });
    supervisor.start();
    assert.equal(await supervisor.waitUntilReady(10_000), true);
    await until(() => supervisor.status().restarts >= 1, 10_000);
    assert.match(supervisor.status().lastExit?.reason ?? "", /stopped answering \/health/);
    assert.ok(log.lines.some((l) => l["level"] === "error" && String(l["message"]).includes("stopped answering /health")));
    await supervisor.stop();
  });
});
