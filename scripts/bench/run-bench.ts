/**
 * `npm run bench [-- --size smoke|full]`: measures what the gateway costs its users.
 *
 * Starts everything itself on loopback (a key server for real signed tokens, the gateway
 * with its `mlflow server` child on a fixed port, nginx in front of that same child),
 * runs the workloads of issue #6 with every path taking turns, stops everything it started
 * (also on Ctrl-C and on errors), removes its temporary data, prints one markdown table to
 * stdout (progress goes to stderr) and writes the same results as JSON to bench-output/.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchContext } from "./bench-context.js";
import { startBenchIdentity, type BenchIdentity } from "./bench-identity.js";
import { parseOptions, UsageError } from "./bench-options.js";
import { ensureTools, type Tools, versionOf } from "./ensure-tools.js";
import { evaluateTargets } from "./evaluate-targets.js";
import { startMainStack } from "./main-stack.js";
import { machineBusySeconds, ownTreeCpuSeconds } from "./proc-stats.js";
import { ProcessRegistry } from "./process-registry.js";
import { renderReport } from "./render-report.js";
import type { BenchResults, ColdStart, Environment, LoadRow, Stages, TransferRow } from "./results.js";
import { type AuditState, GATEWAY_ENTRY, REPO_ROOT } from "./start-gateway.js";
import { type PolicyStageResult, runPolicyStage } from "./workloads/policy-stage.js";
import { MLFLOW_BIN } from "./start-mlflow.js";
import { startBareNodeProxy } from "./start-bare-node-proxy.js";
import { runArtifacts } from "./workloads/artifacts.js";
import { describeStart, raceBareStart, runColdStart } from "./workloads/cold-start.js";
import { type FastRouteResults, runFastRoute } from "./workloads/fast-route.js";
import { runSmallReads, runSmallWrites } from "./workloads/small-calls.js";

/** Other work using more than this many cores on average makes the figures suspect. */
const OTHER_LOAD_WARNING_CORES = 0.25;
/** A row with more failed requests than this share means a broken setup, not a slow one. */
const MAX_FAILURE_SHARE = 0.05;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** The benchmark measures the built gateway (dist/), as shipped; build it when missing or older than src/. */
function ensureBuild(progress: (line: string) => void): void {
  if (existsSync(GATEWAY_ENTRY) && statSync(GATEWAY_ENTRY).mtimeMs >= newestMtime(path.join(REPO_ROOT, "src"))) return;
  progress("building the gateway (npm run build)");
  execFileSync("npm", ["run", "--silent", "build"], { cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit"] });
}

function readEnvironment(tools: Tools): Environment {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version?: string };
  const python = path.join(path.dirname(MLFLOW_BIN), "python");
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg()[0] ?? 0,
    otherProcessesCores: Number.NaN,
    node: process.version,
    gateway: pkg.version ?? "unknown",
    mlflow: versionOf(python, ["-c", "import importlib.metadata as m; print(m.version('mlflow'))"], /^(\d[\w.]*)$/m),
    nginx: versionOf(tools.nginx, ["-v"], /nginx\/(\S+)/),
    wrk: versionOf(tools.wrk, ["-v"], /wrk (?:debian\/)?([\d.]+)/),
    curl: versionOf(tools.curl, ["--version"], /curl (\S+)/),
  };
}

function describeStages(audit: string): Stages {
  return {
    identity:
      "`token` (an RS256 JWT in `Authorization: Bearer`, verified against the key server's discovery document and JWKS; verified tokens cached)",
    policy: existsSync(path.join(REPO_ROOT, "dist", "policy"))
      ? "on, built-in policy (no policy file) on the load rows; the policy-stage table compares a 50-grant team policy per decision"
      : "not in this build (no dist/policy/)",
    audit,
  };
}

function checkFailures(rows: readonly LoadRow[]): string[] {
  return rows
    .filter((r) => r.stats.requests === 0 || (r.stats.errors + r.stats.failedResponses) / r.stats.requests > MAX_FAILURE_SHARE)
    .map((r) =>
      r.stats.requests === 0
        ? `${r.workload} ${r.operation} c=${r.concurrency} via ${r.path}: no request completed in ${r.stats.seconds.toFixed(1)} s (a stalled server: see its log)`
        : `${r.workload} ${r.operation} c=${r.concurrency} via ${r.path}: ${r.stats.errors} socket errors, ${r.stats.failedResponses} failed responses of ${r.stats.requests}`,
    );
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), path.join(REPO_ROOT, "bench-output"));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const { size } = options;
  const registry = new ProcessRegistry();
  registry.installSignalHandlers();
  const begin = Date.now();
  const busy0 = machineBusySeconds();
  const own0 = ownTreeCpuSeconds();
  const startedAt = new Date(begin).toISOString();
  const progress = (line: string): void => void process.stderr.write(`[bench ${((Date.now() - begin) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const notes: string[] = [];
  let identity: BenchIdentity | undefined;
  try {
    progress(`size ${size.name}: ${size.runSeconds} s per load run, ${size.artifactMiB} MiB artifact, ${size.soakSeconds} s soak`);
    const tools = ensureTools(progress);
    const gatewayEntry = path.resolve(options.gatewayEntry ?? GATEWAY_ENTRY);
    if (options.gatewayEntry === undefined) ensureBuild(progress);
    else notes.push(`gateway build measured: ${gatewayEntry} (--gateway-entry)`);
    if (!existsSync(MLFLOW_BIN)) throw new Error(`${MLFLOW_BIN} is missing: run \`bash scripts/setup.sh\` first`);
    const environment = readEnvironment(tools);
    const workDir = registry.makeTempDir("mlflow-bench-");
    identity = await startBenchIdentity();
    const profileDir = path.join(options.outputDir, `profiles-${startedAt.replace(/[:.]/g, "-")}`);
    const gatewayNodeArgs = options.profile ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [];
    if (options.profile)
      notes.push(
        `profiled run (node --cpu-prof, profiles in ${path.relative(REPO_ROOT, profileDir)}): the gateway's figures include the profiler's cost`,
      );
    const ctx: BenchContext = {
      registry,
      tools,
      size,
      workDir,
      gatewayNodeArgs,
      gatewayEntry,
      authHeaders: identity.headers,
      progress,
      note: (line) => notes.push(line),
    };

    const { only } = options;
    const load: LoadRow[] = [];
    let transfers: TransferRow[] = [];
    let coldStart: ColdStart | undefined;
    let fast: FastRouteResults | undefined;
    let auditStage: AuditState | undefined;
    let policy: PolicyStageResult | undefined;
    if (only.has("reads") || only.has("writes") || only.has("artifacts") || only.has("cold-start")) {
      const race = only.has("cold-start") && size.coldStartFromMainStack ? raceBareStart(ctx) : undefined;
      const stack = await startMainStack(ctx, identity.host);
      auditStage = stack.gateway.audit;
      if (only.has("reads")) {
        progress("workload 1: small reads");
        load.push(...(await runSmallReads(ctx, stack.targets, stack.fixtures)));
      }
      if (only.has("reads")) {
        progress("policy stage: cost per decision, built-in policy vs a 50-grant team policy");
        policy = await runPolicyStage(stack.targets[0]?.url ?? "", stack.fixtures, size.name === "smoke" ? 2_000 : 20_000);
      }
      if (only.has("writes")) {
        progress("workload 2: small writes");
        load.push(...(await runSmallWrites(ctx, stack.targets, stack.fixtures)));
      }
      if (only.has("artifacts")) {
        progress("workload 4: artifact transfer");
        const reference = await startBareNodeProxy(ctx, stack.childPort, ctx.workDir, "/health");
        transfers = await runArtifacts(
          ctx,
          stack.targets,
          stack.gateway.process.pid,
          stack.artifactsRoot,
          stack.fixtures.artifactRunPrefix,
          reference,
        );
        await ctx.registry.stop(reference.process);
      }
      await stack.stop();
      if (only.has("cold-start")) {
        progress("workload 5: cold start");
        coldStart = race !== undefined ? await race.finish(describeStart(stack.gateway)) : await runColdStart(ctx, identity.host, stack.templateDb);
      }
    }
    if (only.has("fast-route")) {
      progress("workload 3: fast upstream route; then the soak and workload 6 (audit)");
      fast = await runFastRoute(ctx, identity.host);
      load.push(...fast.rows);
      auditStage ??= fast.audit;
    }

    environment.otherProcessesCores = (machineBusySeconds() - busy0 - (ownTreeCpuSeconds() - own0)) / ((Date.now() - begin) / 1000);
    if (environment.otherProcessesCores > OTHER_LOAD_WARNING_CORES) {
      notes.push(
        `other processes on this machine kept ${environment.otherProcessesCores.toFixed(2)} of its ${environment.cores} cores busy on average during the run: every row competed with them, so compare rows of this run, not runs`,
      );
    }
    const results: BenchResults = {
      size: size.name,
      startedAt,
      durationSeconds: (Date.now() - begin) / 1000,
      command: `npm run bench -- ${process.argv.slice(2).join(" ") || `--size ${size.name}`}`,
      environment,
      stages: describeStages(auditStage?.on === true ? "on (file sink; HMAC-signed digests)" : (auditStage?.detail ?? "unknown")),
      load,
      transfers,
      coldStart,
      soak: fast?.soak,
      nodeReference: fast?.nodeReference,
      policy,
      audit: fast?.audit ?? { on: auditStage?.on ?? false, detail: "not measured (the fast route did not run)" },
      targets: [],
      notes,
    };
    results.targets = evaluateTargets(results);
    const failures = checkFailures(load);
    notes.push(...failures.map((f) => `FAILED REQUESTS: ${f}`));

    mkdirSync(options.outputDir, { recursive: true });
    const jsonFile = path.join(options.outputDir, `${startedAt.replace(/[:.]/g, "-")}-${size.name}.json`);
    writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(renderReport(results));
    progress(`results written to ${path.relative(process.cwd(), jsonFile)}`);
    if (failures.length > 0) {
      progress(`more than ${MAX_FAILURE_SHARE * 100}% of requests failed in ${failures.length} row(s): the setup is broken, see the notes`);
      return 1;
    }
    return 0;
  } catch (error) {
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    progress("stopping every process the benchmark started, removing its temporary data");
    await identity?.close();
    await registry.stopAll();
  }
}

process.exitCode = await main();
