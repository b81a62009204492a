/**
 * Load generation with wrk, a separate process: C, event-driven, one thread, so on a
 * two-core machine it takes far less CPU from the processes under test than a load tool
 * written in JavaScript would, and it records every latency (microseconds, to p99.9).
 * Requests are described by a generated Lua script; its `done` hook prints the summary as
 * one JSON line.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { ProcessRegistry } from "./process-registry.js";

export interface StaticRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A Lua `request` function body that returns `wrk.format(...)`: for requests that must differ. */
export interface ScriptedRequest {
  lua: string;
}

export interface LoadStats {
  requests: number;
  seconds: number;
  rps: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Responses with status >= 400. */
  failedResponses: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; mean: number; max: number };
}

export interface WrkRun {
  baseUrl: string;
  request: StaticRequest | ScriptedRequest;
  connections: number;
  seconds: number;
  /** Pin wrk to this core (workload 3's core budget). */
  cpu?: number;
  scriptDir: string;
}

const RESULT_MARKER = "BENCH_WRK_RESULT ";
/** A write of 50 metrics into SQLite under contention may be slow, but not this slow. */
const REQUEST_TIMEOUT_S = 30;

/**
 * A Lua long string: the content can hold quotes and backslashes untouched. As a table
 * key it needs spaces inside the brackets (`t[ [[k]] ]`): `t[[[k]]]` would lex as a call.
 */
export function luaString(text: string): string {
  let level = 0;
  while (text.includes(`]${"=".repeat(level)}]`)) level += 1;
  const eq = "=".repeat(level);
  return `[${eq}[${text}]${eq}]`;
}

export function renderLuaScript(request: StaticRequest | ScriptedRequest): string {
  const setup =
    "lua" in request
      ? request.lua
      : [
          `wrk.method = ${luaString(request.method)}`,
          `wrk.path = ${luaString(request.path)}`,
          ...Object.entries(request.headers).map(([name, value]) => `wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`),
          request.body === undefined ? "" : `wrk.body = ${luaString(request.body)}`,
        ].join("\n");
  return `${setup}

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n${RESULT_MARKER}{"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"mean":%.1f,"max":%.0f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.mean, latency.max))
end
`;
}

interface WrkSummary {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  mean: number;
  max: number;
}

export function parseWrkOutput(stdout: string, stderr = ""): LoadStats {
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_MARKER));
  if (line === undefined) throw new Error(`wrk printed no result (a Lua error?):\n${stderr.slice(-2_000)}\n${stdout.slice(-2_000)}`);
  const s = JSON.parse(line.slice(RESULT_MARKER.length)) as WrkSummary;
  const seconds = s.duration_us / 1e6;
  const ms = (us: number): number => us / 1000;
  return {
    requests: s.requests,
    seconds,
    rps: s.requests / seconds,
    errors: s.connect + s.read + s.write + s.timeout,
    failedResponses: s.status,
    latencyMs: { p50: ms(s.p50), p90: ms(s.p90), p99: ms(s.p99), p999: ms(s.p999), mean: ms(s.mean), max: ms(s.max) },
  };
}

let scriptCounter = 0;

export async function runWrk(registry: ProcessRegistry, tools: { wrk: string; taskset: string }, run: WrkRun): Promise<LoadStats> {
  scriptCounter += 1;
  const script = path.join(run.scriptDir, `wrk-${scriptCounter}.lua`);
  writeFileSync(script, renderLuaScript(run.request));
  const wrkArgs = [
    "-t1",
    `-c${run.connections}`,
    `-d${Math.max(1, Math.round(run.seconds))}s`,
    "--timeout",
    `${REQUEST_TIMEOUT_S}s`,
    "-s",
    script,
    run.baseUrl,
  ];
  const command =
    run.cpu === undefined ? { file: tools.wrk, args: wrkArgs } : { file: tools.taskset, args: ["-c", String(run.cpu), tools.wrk, ...wrkArgs] };
  const started = registry.start("wrk", command.file, command.args, { captureStdout: true });
  let stdout = "";
  let stderr = "";
  started.child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  started.child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const code = await started.exited;
  if (code !== 0) throw new Error(`wrk failed (${String(code)}): ${stderr || stdout}`);
  return parseWrkOutput(stdout, stderr);
}
