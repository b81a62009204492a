import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { execa } from "execa";
import { readAuditEvents, runAuditCli, waitForAuditEvents } from "../support/audit-files.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { waitFor } from "../support/wait-for.js";

// The audit directory on a real file system that fills up: a 1 MiB tmpfs, mounted for this
// test (CI runs as root). A filler file takes the last byte; removing it gives the space back.
const FILLER = "filler.bin";
let dir: string;
let gateway: GatewayProcess;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "audit-disk-full-"));
  const mounted = await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { reject: false });
  // Not a skip: without the mount this test cannot show what it must, so it fails and says why.
  assert.equal(mounted.exitCode, 0, `mounting a 1 MiB tmpfs for the audit directory needs root: ${mounted.stderr}`);
  gateway = await startGateway({ env: { GATEWAY_AUDIT_DIR: dir } });
});
after(async () => {
  await gateway?.stop();
  if (dir !== undefined) {
    await execa("umount", [dir], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Writes zeros until the file system refuses (ENOSPC): the disk is full. */
function fillDisk(): void {
  const fd = openSync(path.join(dir, FILLER), "w");
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
  } finally {
    closeSync(fd);
  }
}

let sent = 0;
async function createExperiment(): Promise<{ requestId: string; status: number; body: { gateway_error?: string }; retryAfter: string | null }> {
  sent += 1;
  const requestId = `disk-full-${sent}`;
  const response = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/create`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ name: `disk-full-${Date.now()}-${sent}` }),
  });
  return {
    requestId,
    status: response.status,
    body: (await response.json()) as { gateway_error?: string },
    retryAfter: response.headers.get("retry-after"),
  };
}

interface Readiness {
  checks: Record<string, { ok: boolean; detail: string }>;
}

describe("the audit directory's disk fills up", () => {
  it("refuses writes (503, Retry-After) while events cannot be kept, serves reads, and recovers with every event written in order", async () => {
    const ids: string[] = [];
    const before = await createExperiment();
    ids.push(before.requestId);
    assert.equal(before.status, 200);

    fillDisk();
    // The first write after the disk filled is performed (its event is kept in memory, pending);
    // once the file sink has failed to write, writes are refused.
    const refused = await waitFor("a write refused for the audit trail", async () => {
      const attempt = await createExperiment();
      ids.push(attempt.requestId);
      return attempt.status === 503 ? attempt : undefined;
    });
    assert.equal(refused.body.gateway_error, "AUDIT_UNAVAILABLE");
    assert.equal(refused.retryAfter, "10");
    const ready = (await (await fetch(`${gateway.url}/-/ready`)).json()) as Readiness;
    assert.equal(ready.checks["audit"]?.ok, false);
    assert.match(ready.checks["audit"]?.detail ?? "", /ENOSPC/);
    // Reads go on under the default policy (refuse-writes).
    const read = await fetch(`${gateway.url}/api/2.0/mlflow/experiments/search?max_results=1`, { headers: { "x-request-id": "disk-full-read" } });
    assert.equal(read.status, 200);
    ids.push("disk-full-read");

    rmSync(path.join(dir, FILLER));
    const accepted = await waitFor("writes accepted again", async () => {
      const attempt = await createExperiment();
      ids.push(attempt.requestId);
      return attempt.status === 200 ? attempt : undefined;
    });
    assert.equal(accepted.status, 200);
    await waitFor("readiness recovered", async () =>
      ((await (await fetch(`${gateway.url}/-/ready`)).json()) as Readiness).checks["audit"]?.ok ? true : undefined,
    );

    // Nothing was lost: every call has its event (those kept in memory while the disk was
    // full included), and the chain verifies.
    await waitForAuditEvents(dir, ids);
    const events = readAuditEvents(dir).filter((event) => ids.includes(event.request_id));
    assert.equal(events.length, ids.length, "one event per call");
    const refusedEvent = events.find((event) => event.request_id === refused.requestId);
    assert.equal(refusedEvent?.outcome.status, 503);
    const verified = await runAuditCli(["verify", dir], { GATEWAY_AUDIT_HMAC_KEY: readFileSync(path.join(dir, "hmac.key"), "utf8") });
    assert.equal(verified.exitCode, 0, verified.stdout + verified.stderr);
  });
});
