/**
 * One artifact transfer with curl, a separate process (C, streams from and to disk without
 * holding the file in memory), timed by curl itself from the first byte sent to the last
 * byte received.
 */
import type { ProcessRegistry } from "./process-registry.js";

export interface TransferResult {
  status: number;
  bytes: number;
  seconds: number;
}

export async function curlTransfer(
  registry: ProcessRegistry,
  curl: string,
  options: { url: string; headers: Record<string, string>; upload?: string },
): Promise<TransferResult> {
  const args = ["--silent", "--show-error", "--output", "/dev/null", "--max-time", "600"];
  for (const [name, value] of Object.entries(options.headers)) args.push("--header", `${name}: ${value}`);
  if (options.upload !== undefined) {
    // No "Expect: 100-continue" round trip: the same request on every path, sent at once.
    args.push("--request", "PUT", "--upload-file", options.upload, "--header", "Expect:", "--header", "Content-Type: application/octet-stream");
  }
  args.push("--write-out", "%{http_code} %{size_upload} %{size_download} %{time_total}", options.url);
  const started = registry.start("curl", curl, args, { captureStdout: true });
  let stdout = "";
  let stderr = "";
  started.child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  started.child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const code = await started.exited;
  const [status, up, down, total] = stdout.trim().split(/\s+/).map(Number);
  if (code !== 0 || status === undefined) throw new Error(`curl ${options.url} failed (${String(code)}): ${stderr}`);
  return { status, bytes: options.upload !== undefined ? (up ?? 0) : (down ?? 0), seconds: total ?? Number.NaN };
}
