/**
 * Resident memory and CPU time of the processes under test, read from /proc (Linux):
 * no agent inside the measured process, nothing that changes what is measured.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const MIB = 1024 * 1024;
/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** Resident set size in MiB, or undefined when the process is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : (Number(kb) * 1024) / MIB;
  } catch {
    return undefined;
  }
}

interface ProcStat {
  ppid: number;
  cpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // After the name: state(3) ppid(4) ... utime(14) stime(15), so index = field - 3.
    return { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) used so far by these processes, all threads included. */
export function cpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (readStat(pid)?.cpuSeconds ?? 0), 0);
}

/** The process and all its descendants (nginx's master and workers). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export interface RssSeries {
  /** Seconds since the sampler started, and RSS in MiB. */
  samples: Array<{ t: number; mib: number }>;
  stop(): RssSeries;
  max(): number;
}

/** Samples a process's RSS every `intervalMs` until stopped. */
export function sampleRss(pid: number, intervalMs: number): RssSeries {
  const begin = Date.now();
  const series: RssSeries = {
    samples: [],
    stop() {
      clearInterval(timer);
      take();
      return series;
    },
    max: () => Math.max(...series.samples.map((s) => s.mib)),
  };
  const take = (): void => {
    const mib = rssMiB(pid);
    if (mib !== undefined) series.samples.push({ t: (Date.now() - begin) / 1000, mib });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return series;
}

/** CPU seconds the whole machine has spent busy (all cores; idle and I/O wait excluded). */
export function machineBusySeconds(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}

/**
 * CPU seconds used by this process and every child it has reaped (their own reaped
 * children included): once the benchmark's processes have exited, all of their CPU.
 */
export function ownTreeCpuSeconds(): number {
  const text = readFileSync("/proc/self/stat", "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // utime(14) stime(15) cutime(16) cstime(17), at index field - 3.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / CLOCK_TICKS;
}
