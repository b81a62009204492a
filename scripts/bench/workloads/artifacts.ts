/**
 * Workload 4: one large artifact uploaded and downloaded through MLflow's artifact proxy
 * (`/api/2.0/mlflow-artifacts/artifacts/...`, what the MLflow client uses with
 * `--serve-artifacts`) on each path, with the gateway's RSS sampled throughout: streaming
 * means its memory must not grow with the file.
 */
import { createWriteStream, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { once } from "node:events";
import type { BenchContext } from "../bench-context.js";
import { cpuSeconds, sampleRss } from "../proc-stats.js";
import { median, type PathName, type Target, type TransferRow } from "../results.js";
import { curlTransfer } from "../run-curl.js";

const MIB = 1024 * 1024;
/** RSS is sampled this often during a gateway transfer. */
const RSS_SAMPLE_MS = 50;

/** Incompressible bytes, written in 1 MiB chunks (never the whole file in memory). */
async function writeRandomFile(file: string, mib: number): Promise<void> {
  const chunk = randomBytes(MIB);
  const out = createWriteStream(file);
  for (let i = 0; i < mib; i += 1) {
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

export async function runArtifacts(
  ctx: BenchContext,
  targets: readonly Target[],
  gatewayPid: number,
  artifactsRoot: string,
  prefix: string,
  /** The bare node:http proxy to the same child: what Node.js itself achieves (a note, not a row). */
  reference?: { url: string },
): Promise<TransferRow[]> {
  const { artifactMiB, transferRepetitions } = ctx.size;
  const source = path.join(ctx.workDir, "artifact.bin");
  ctx.progress(`writing a ${artifactMiB} MiB test file`);
  await writeRandomFile(source, artifactMiB);
  const expectedBytes = artifactMiB * MIB;

  const speeds = new Map<string, number[]>();
  const growth = new Map<string, number>();
  const cpuPerGiB = new Map<string, number[]>();
  const record = (name: PathName, direction: string, mibPerSecond: number, rssGrowth: number | undefined, cpu: number | undefined): void => {
    const key = `${name}/${direction}`;
    speeds.set(key, [...(speeds.get(key) ?? []), mibPerSecond]);
    if (rssGrowth !== undefined) growth.set(key, Math.max(growth.get(key) ?? 0, rssGrowth));
    if (cpu !== undefined) cpuPerGiB.set(key, [...(cpuPerGiB.get(key) ?? []), (cpu * 1024) / artifactMiB]);
  };

  for (let rep = 0; rep < transferRepetitions; rep += 1) {
    for (const target of targets) {
      const artifactPath = `${prefix}/${target.name}-${rep}.bin`;
      const url = `${target.url}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}`;
      for (const direction of ["upload", "download"] as const) {
        const baseline = target.name === "gateway" ? sampleRss(gatewayPid, RSS_SAMPLE_MS) : undefined;
        const before = baseline?.samples[0]?.mib;
        const pids = target.proxyPids?.();
        const cpu0 = pids === undefined ? undefined : cpuSeconds(pids);
        const result = await curlTransfer(ctx.registry, ctx.tools.curl, {
          url,
          headers: ctx.authHeaders,
          ...(direction === "upload" ? { upload: source } : {}),
        });
        baseline?.stop();
        const cpu = pids === undefined || cpu0 === undefined ? undefined : cpuSeconds(pids) - cpu0;
        if (result.status !== 200 || result.bytes !== expectedBytes) {
          throw new Error(`${direction} via ${target.name}: status ${result.status}, ${result.bytes} of ${expectedBytes} bytes`);
        }
        const mibPerSecond = artifactMiB / result.seconds;
        const rssGrowth = baseline === undefined || before === undefined ? undefined : baseline.max() - before;
        record(target.name, direction, mibPerSecond, rssGrowth, cpu);
        ctx.progress(
          `artifact ${direction} ${artifactMiB} MiB via ${target.name}: ${mibPerSecond.toFixed(0)} MiB/s` +
            (cpu === undefined ? "" : `, proxy CPU ${cpu.toFixed(2)} s`) +
            (rssGrowth === undefined ? "" : `, gateway RSS +${rssGrowth.toFixed(1)} MiB`),
        );
      }
      // Keep the disk free: a full run would otherwise store 3 copies per repetition.
      rmSync(path.join(artifactsRoot, artifactPath), { force: true });
    }
  }
  if (reference !== undefined) await measureReference(ctx, reference, source, expectedBytes, `${prefix}/bare-node`);
  rmSync(source, { force: true });

  const rows: TransferRow[] = [];
  for (const direction of ["download", "upload"] as const) {
    for (const target of targets) {
      const key = `${target.name}/${direction}`;
      const values = speeds.get(key) ?? [];
      rows.push({
        path: target.name,
        direction,
        mib: artifactMiB,
        mibPerSecond: values,
        median: median(values),
        ...(growth.has(key) ? { gatewayRssGrowthMiB: growth.get(key) } : {}),
        ...(cpuPerGiB.has(key) ? { proxyCpuSecondsPerGiB: median(cpuPerGiB.get(key) ?? []) } : {}),
      });
    }
  }
  return rows;
}

/** The same transfers through the bare node:http proxy, reported as a note next to the rows. */
async function measureReference(
  ctx: BenchContext,
  reference: { url: string },
  source: string,
  expectedBytes: number,
  artifactPath: string,
): Promise<void> {
  const { artifactMiB, transferRepetitions } = ctx.size;
  const url = `${reference.url}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}.bin`;
  const speeds: Record<"upload" | "download", number[]> = { upload: [], download: [] };
  for (let rep = 0; rep < transferRepetitions; rep += 1) {
    for (const direction of ["upload", "download"] as const) {
      const result = await curlTransfer(ctx.registry, ctx.tools.curl, {
        url,
        headers: ctx.authHeaders,
        ...(direction === "upload" ? { upload: source } : {}),
      });
      if (result.status !== 200 || result.bytes !== expectedBytes) {
        throw new Error(`${direction} via the bare node:http proxy: status ${result.status}, ${result.bytes} of ${expectedBytes} bytes`);
      }
      speeds[direction].push(artifactMiB / result.seconds);
    }
  }
  const text = `bare node:http proxy (reference, same child): download ${median(speeds.download).toFixed(0)} MiB/s, upload ${median(speeds.upload).toFixed(0)} MiB/s (medians of ${transferRepetitions})`;
  ctx.progress(text);
  ctx.note(text);
}
