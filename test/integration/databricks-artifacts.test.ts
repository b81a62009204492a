import assert from "node:assert/strict";
import { request } from "node:http";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { WorkspaceEmulator } from "../emulator/index.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import type { AuditEventRecord } from "../../src/audit/audit-record.js";
import { readAuditEvents } from "../support/audit-files.js";
import { type AppStack, startAppStack } from "../support/app-stack.js";
import type { GatewayProcess } from "../support/gateway-process.js";
import { runPythonJson } from "../support/python.js";
import { waitFor } from "../support/wait-for.js";

const ALICE = "alice@example.com";
const STAMP = Date.now();
const SCHEMA = "main.pipelines";
const MODEL = `${SCHEMA}.churn_${STAMP}`;
/** The front door's limit in this test: far below the 120 s of Databricks Apps, so only chunked transfers fit. */
const REQUEST_TIME_LIMIT_MS = 20_000;
/** MLflow's client splits uploads into parts of this size (MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE). */
const PART_BYTES = 32 * 1024 * 1024;

interface Pipeline {
  run_id: string;
  experiment_id: string;
  artifact_uri: string;
  model_id: string;
  model_artifact_location: string;
  version: string;
  version_source: string;
  download_uri: string;
  logged: Record<string, string>;
  downloaded: Record<string, string>;
  listed: string[];
  expected: number[];
  by_version: number[];
  by_alias: number[];
}

// A training pipeline outside Databricks, with only a token for the app:
// client -> front door (user authorization on, time limit) -> gateway -> workspace emulator.
let app: AppStack;
let workspace: WorkspaceEmulator;
let gateway: GatewayProcess;
let frontDoor: FrontDoor;
let aliceToken: string;
let auditDir: string;
let pipeline: Pipeline;

before(async () => {
  app = await startAppStack({ user: ALICE, modelSchema: SCHEMA, frontDoor: { requestTimeLimitMs: REQUEST_TIME_LIMIT_MS } });
  ({ workspace, gateway, frontDoor, auditDir, token: aliceToken } = app);
});
after(async () => {
  await app?.stop();
});

function pythonEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { MLFLOW_TRACKING_TOKEN: aliceToken, ...extra };
}

/** Every request the workspace saw came from the app's service principal (bearer, or a URL signed for it). */
function assertOnlyServicePrincipal(since: number): void {
  const sp = workspace.servicePrincipal.applicationId;
  const calls = workspace.calls.slice(since);
  assert.ok(calls.length > 0);
  for (const call of calls) {
    if (call.surface === "discovery") continue;
    const who = call.surface === "blob" ? call.signedFor?.principalName : call.principalName;
    assert.equal(who, sp, `${call.method} ${call.path} (${call.surface}) came from ${String(who)}`);
  }
}

describe("a training pipeline with only a token for the app", () => {
  it("logs artifacts and a model, registers it in Unity Catalog, loads it by version and alias, and downloads everything back", async () => {
    const since = workspace.calls.length;
    pipeline = await runPythonJson<Pipeline>("pipeline_through_app.py", [frontDoor.url, `pipeline-${STAMP}`, MODEL, "200"], pythonEnv());
    // Locations resolve through the app, never to Databricks storage.
    assert.equal(pipeline.artifact_uri, `mlflow-artifacts:/databricks/mlflow-tracking/${pipeline.experiment_id}/${pipeline.run_id}/artifacts`);
    assert.match(pipeline.model_artifact_location, /^mlflow-artifacts:\/databricks\/mlflow-tracking\/\d+\/logged_models\/m-[0-9a-f]+\/artifacts$/);
    assert.equal(pipeline.download_uri, `mlflow-artifacts:/unity-catalog/models/${MODEL}/${pipeline.version}`);
    assert.deepEqual(pipeline.by_version, pipeline.expected);
    assert.deepEqual(pipeline.by_alias, pipeline.expected);
    // 1 KB, 200 MB and 20 small files, byte for byte.
    assert.equal(Object.keys(pipeline.logged).length, 22);
    for (const [name, hash] of Object.entries(pipeline.logged)) assert.equal(pipeline.downloaded[name], hash, name);
    assert.deepEqual(pipeline.listed, ["big.bin", "many", "small.txt"]);

    // Every byte reached the workspace as the service principal; nothing came from Alice's token.
    assertOnlyServicePrincipal(since);
    const written = workspace.calls
      .slice(since)
      .filter((c) => c.method === "PUT" && c.path.includes(`/Runs/${pipeline.run_id}/artifacts/big.bin`))
      .reduce((sum, c) => sum + c.bytesIn, 0);
    assert.equal(written, 200 * 1024 * 1024, "the 200 MB file was written once, whole");
    // Databricks stores the real location: the rewrite is only what clients see.
    const backing = (await (await fetch(`${workspace.backingMlflowUrl}/api/2.0/mlflow/runs/get?run_id=${pipeline.run_id}`)).json()) as {
      run: { info: { artifact_uri: string } };
    };
    assert.match(backing.run.info.artifact_uri, /^(file|dbfs):/);
  });

  it("tells each caller what the app can do with artifacts (server-info)", async () => {
    const answer = await fetch(`${frontDoor.url}/api/3.0/mlflow/server-info`, { headers: { authorization: `Bearer ${aliceToken}` } });
    const info = (await answer.json()) as Record<string, unknown>;
    // The front door forwards Alice's token (user authorization), so parts and ranges can carry it.
    assert.equal(info["multipart_uploads_enabled"], true);
    assert.equal(info["multipart_downloads_enabled"], true);
    // Raw storage URLs would bypass the app: not offered.
    assert.equal(info["presigned_upload_run_id_supported"], false);
    assert.equal(info["presigned_upload_model_id_supported"], false);
  });

  it("offers no chunked transfers to a caller whose token the app does not receive, so the client sends one request", async () => {
    // The same app without user authorization: the front door keeps the caller's token to itself.
    const plainDoor = await startFrontDoor({ upstream: gateway.url, workspace });
    try {
      const headers = { authorization: `Bearer ${aliceToken}`, "content-type": "application/json" };
      const info = (await (await fetch(`${plainDoor.url}/api/3.0/mlflow/server-info`, { headers })).json()) as Record<string, unknown>;
      assert.equal(info["multipart_uploads_enabled"], false);
      assert.equal(info["multipart_downloads_enabled"], false);
      const root = `databricks/mlflow-tracking/${pipeline.experiment_id}/${pipeline.run_id}/artifacts`;
      const create = await fetch(`${plainDoor.url}/api/2.0/mlflow-artifacts/mpu/create/${root}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ path: "/tmp/big.bin", num_parts: 3 }),
      });
      assert.equal(create.status, 501);
      // MLflow's client falls back to a single PUT on exactly this message (mlflow/exceptions.py).
      assert.match(((await create.json()) as { message: string }).message, /^Multipart upload is not supported for the current artifact repository/);
    } finally {
      await plainDoor.close();
    }
  });

  it("audits each artifact call with its run or model, path and bytes", async () => {
    // Events are written as each call closes; wait until the pipeline's last download is on disk.
    const events = await waitForEvents((all) =>
      all.some((e) => e.action === "DownloadArtifact" && e.objects.run_id === pipeline.run_id && e.objects.artifact_path === "big.bin"),
    );
    const bigUpload = events.find((e) => e.action === "UploadArtifact" && e.objects.artifact_path === "big.bin");
    assert.ok(bigUpload, "the 200 MB upload has its event");
    assert.equal(bigUpload.objects.run_id, pipeline.run_id);
    assert.equal(bigUpload.bytes_in, 200 * 1024 * 1024);
    assert.equal(bigUpload.principal.email, ALICE);
    // Downloaded in ranges (the client asks server-info, and the app offers chunked transfers): together, every byte once.
    const bigDownloads = events.filter(
      (e) => e.action === "DownloadArtifact" && e.objects.run_id === pipeline.run_id && e.objects.artifact_path === "big.bin",
    );
    assert.ok(bigDownloads.length >= 1);
    assert.equal(
      bigDownloads.reduce((sum, e) => sum + e.bytes_out, 0),
      200 * 1024 * 1024,
    );
    const modelFiles = events.filter((e) => e.action === "UploadArtifact" && e.objects.logged_model_id === pipeline.model_id);
    assert.ok(
      modelFiles.some((e) => e.objects.artifact_path === "MLmodel"),
      "the logged model's files are audited under its id",
    );
    const versionReads = events.filter((e) => e.action === "DownloadArtifact" && e.objects.model_name === MODEL);
    assert.ok(versionReads.length > 0, "loading the model read the version's files through the app");
  });

  it("uploads and downloads 1 GiB in chunks, no request longer than the front door allows, with bounded gateway memory", async () => {
    const rss = sampleRss(gateway.process.pid ?? 0);
    const result = await runPythonJson<{ run_id: string; logged: string; downloaded: string }>(
      "pipeline_through_app.py",
      [frontDoor.url, "big-file", `pipeline-${STAMP}`, "1024"],
      pythonEnv({ MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: String(PART_BYTES), MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE: String(PART_BYTES) }),
    );
    const growthMb = rss.stop();
    console.log(`gateway RSS growth during 1 GiB up and down: ${growthMb.toFixed(1)} MB`);
    assert.equal(result.downloaded, result.logged);
    const longest = Math.max(...frontDoor.forwarded.map((f) => f.durationMs ?? 0));
    assert.ok(longest < REQUEST_TIME_LIMIT_MS, `longest request ${longest} ms`);
    assert.ok(!frontDoor.forwarded.some((f) => f.cutOff), "the front door cut no request");
    const isPart = (e: AuditEventRecord): boolean => e.action === "UploadArtifactPart" && e.objects.run_id === result.run_id;
    const parts = (await waitForEvents((all) => all.filter(isPart).length >= 32)).filter(isPart);
    assert.equal(parts.length, 32, "1 GiB in 32 MB parts");
    for (const part of parts) assert.ok(part.bytes_in <= PART_BYTES);
    assert.ok(growthMb < 64, `RSS grew by ${growthMb} MB`);
  });
});

describe("artifact requests the gateway refuses before the workspace sees them", () => {
  /** Sends a request exactly as written (no URL normalisation) through the front door. */
  function raw(method: string, path: string, body?: Buffer): Promise<{ status: number; json: { error_code?: string; message?: string } }> {
    const target = new URL(frontDoor.url);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          method,
          path,
          headers: { authorization: `Bearer ${aliceToken}`, ...(body ? { "content-length": String(body.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json = {};
            try {
              json = JSON.parse(text) as object;
            } catch {
              json = { message: text };
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  it("refuses path traversal in every spelling with 400, and nothing reaches the workspace", async () => {
    const root = `/api/2.0/mlflow-artifacts/artifacts/databricks/mlflow-tracking/${pipeline.experiment_id}/${pipeline.run_id}/artifacts`;
    const cases = [
      `${root}/../../other/artifacts/x.txt`,
      `${root}/%2e%2e/%2e%2e/other/artifacts/x.txt`,
      `${root}/a%2f..%2f..%2fx.txt`,
      `${root}/%252e%252e/x.txt`,
      `/api/2.0/mlflow-artifacts/artifacts//etc/passwd`,
      `${root}/..%5c..%5cx.txt`,
      `${root}/x%00.txt`,
      `/api/2.0/mlflow-artifacts/artifacts/etc/passwd`,
    ];
    const since = workspace.calls.length;
    for (const path of cases) {
      for (const method of ["GET", "PUT"]) {
        const answer = await raw(method, path, method === "PUT" ? Buffer.from("evil") : undefined);
        assert.equal(answer.status, 400, `${method} ${path}: ${JSON.stringify(answer.json)}`);
      }
    }
    assert.deepEqual(
      workspace.calls.slice(since).map((c) => `${c.method} ${c.path}`),
      [],
      "no request reached the workspace",
    );
  });

  it("refuses a path that names another experiment's run, and writes nothing", async () => {
    const since = workspace.calls.length;
    const answer = await raw(
      "PUT",
      `/api/2.0/mlflow-artifacts/artifacts/databricks/mlflow-tracking/1234567890123456/${pipeline.run_id}/artifacts/x.txt`,
      Buffer.from("x"),
    );
    assert.equal(answer.status, 400, JSON.stringify(answer.json));
    assert.match(answer.json.message ?? "", /its artifacts are at mlflow-artifacts:/);
    assert.ok(!workspace.calls.slice(since).some((c) => c.path.startsWith("/api/2.0/fs/")), "no Files API call");
  });

  it("leaves nothing under the final name when an upload is cut off midway", async () => {
    const path = `/api/2.0/mlflow-artifacts/artifacts/databricks/mlflow-tracking/${pipeline.experiment_id}/${pipeline.run_id}/artifacts/cut.bin`;
    const target = new URL(frontDoor.url);
    await new Promise<void>((resolve) => {
      const req = request({
        host: target.hostname,
        port: target.port,
        method: "PUT",
        path,
        headers: { authorization: `Bearer ${aliceToken}`, "content-length": String(10 * 1024 * 1024) },
      });
      req.on("error", () => resolve());
      req.write(Buffer.alloc(1024 * 1024, 7), () => setTimeout(() => req.destroy(), 300));
      req.on("close", () => resolve());
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const answer = await raw("GET", path);
    assert.equal(answer.status, 404, JSON.stringify(answer.json));
    assert.equal(await workspace.getRunArtifact(pipeline.run_id, "cut.bin"), undefined);
  });

  it("turns the workspace refusing the service principal's write into PERMISSION_DENIED naming the grant", async () => {
    workspace.addDenyRule({
      principal: workspace.servicePrincipal.applicationId,
      pathPrefix: "/api/2.0/fs/files/WorkspaceInternal",
      methods: ["PUT"],
    });
    try {
      const answer = await raw(
        "PUT",
        `/api/2.0/mlflow-artifacts/artifacts/databricks/mlflow-tracking/${pipeline.experiment_id}/${pipeline.run_id}/artifacts/denied.txt`,
        Buffer.from("x"),
      );
      assert.equal(answer.status, 403);
      assert.equal(answer.json.error_code, "PERMISSION_DENIED");
      assert.match(answer.json.message ?? "", /service principal .*CAN_EDIT on experiment/);
    } finally {
      workspace.clearDenyRules();
    }
  });

  it("does not delete artifacts, which MLflow's Databricks repositories do not support", async () => {
    const answer = await raw(
      "DELETE",
      `/api/2.0/mlflow-artifacts/artifacts/databricks/mlflow-tracking/${pipeline.experiment_id}/${pipeline.run_id}/artifacts/small.txt`,
    );
    assert.equal(answer.status, 501);
    assert.equal(answer.json.error_code, "NOT_IMPLEMENTED");
    assert.ok(await workspace.getRunArtifact(pipeline.run_id, "small.txt"));
  });
});

/** The audit events once `ready` holds for them (the file sink writes as calls close), within 20 s. */
async function waitForEvents(ready: (events: AuditEventRecord[]) => boolean): Promise<AuditEventRecord[]> {
  return waitFor(
    "the audit events",
    () => {
      const events = readAuditEvents(auditDir);
      return ready(events) ? events : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
}

/** Samples a process's resident memory; stop() answers the growth over the first sample, in MB. */
function sampleRss(pid: number): { stop(): number } {
  const read = (): number => {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  };
  const first = read();
  let peak = first;
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, read()) - first;
    },
  };
}
