/**
 * The external programs the benchmark drives: nginx (the reference proxy and the trivial
 * upstream), wrk (load) and curl (artifact transfers). Missing ones are installed from
 * Debian's packages when running as root, as scripts/setup.sh does for Chromium; otherwise
 * the error names the command to run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

export interface Tools {
  nginx: string;
  wrk: string;
  curl: string;
  taskset: string;
}

interface Tool {
  name: keyof Tools;
  /** Debian package that provides it. */
  pkg: string;
}

const TOOLS: readonly Tool[] = [
  { name: "nginx", pkg: "nginx" },
  { name: "wrk", pkg: "wrk" },
  { name: "curl", pkg: "curl" },
  { name: "taskset", pkg: "util-linux" },
];

/** nginx lives in /usr/sbin, which a non-root PATH often lacks. */
const EXTRA_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env["PATH"] ?? "").split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export function ensureTools(progress: (line: string) => void): Tools {
  let missing = TOOLS.filter((tool) => findExecutable(tool.name) === undefined);
  if (missing.length > 0) {
    const packages = missing.map((tool) => tool.pkg);
    const isRoot = process.getuid?.() === 0;
    if (!isRoot || findExecutable("apt-get") === undefined) {
      throw new Error(`missing ${missing.map((t) => t.name).join(", ")}. Install with: sudo apt-get install -y ${packages.join(" ")}`);
    }
    progress(`installing ${packages.join(", ")} (Debian packages)`);
    // RUNLEVEL=1 keeps the package scripts from starting a system nginx on port 80.
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", RUNLEVEL: "1" };
    execFileSync("apt-get", ["update", "-qq"], { env, stdio: ["ignore", "ignore", "inherit"] });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { env, stdio: ["ignore", "ignore", "inherit"] });
    missing = TOOLS.filter((tool) => findExecutable(tool.name) === undefined);
    if (missing.length > 0) throw new Error(`still missing after apt-get install: ${missing.map((t) => t.name).join(", ")}`);
  }
  const found = (name: keyof Tools): string => findExecutable(name) ?? name;
  return { nginx: found("nginx"), wrk: found("wrk"), curl: found("curl"), taskset: found("taskset") };
}

/** The first line a program prints about its version (some print it on stderr). */
export function versionOf(file: string, args: readonly string[], pattern: RegExp): string {
  const result = spawnSync(file, args, { encoding: "utf8", timeout: 30_000 });
  const text = `${result.stdout ?? ""}\n${result.stderr ?? ""}`;
  return pattern.exec(text)?.[1] ?? "unknown";
}
