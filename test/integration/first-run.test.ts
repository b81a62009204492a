import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { execa } from "execa";
import { freePort } from "../emulator/server-process.js";
import { ENTRY, GATEWAY_NODE, startGateway } from "../support/gateway-process.js";
import { waitFor } from "../support/wait-for.js";

/** What `npm run local` runs after set-up, with the test's light settings (one worker, no job runner). */
function localEnv(port: number, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? tmpdir(),
    PORT: String(port),
    GATEWAY_DATA_DIR: dataDir,
    GATEWAY_MLFLOW_WORKERS: "1",
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    ...extra,
  };
}

const ANSI = /\u001b\[[0-9;]*m/g;
const READABLE_LINE = /^\d\d:\d\d:\d\d (debug|info|warn|error) +(gateway|mlflow|access) +\S/;
const scratch = mkdtempSync(path.join(tmpdir(), "first-run-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The gateway under a pseudo-terminal, as a person running `npm run local` has it:
 * util-linux `script` gives it a terminal, and what we write to script's stdin is typed
 * into that terminal (so Ctrl-C is a real ^C, turned into SIGINT by the terminal).
 */
function startAtTerminal(env: Record<string, string>) {
  const command = `exec '${GATEWAY_NODE}' '${ENTRY}'`;
  const child = execa("script", ["--quiet", "--return", "--command", command, "/dev/null"], {
    env: { ...env, TERM: "xterm-256color" },
    extendEnv: false,
    reject: false,
    buffer: false,
    stdin: "pipe",
    forceKillAfterDelay: 20_000,
  });
  let screen = "";
  child.stdout?.on("data", (chunk: Buffer) => (screen += chunk.toString("utf8")));
  return { child, screen: () => screen };
}

describe("the first five minutes: npm run local's gateway", () => {
  it("at a terminal prints readable lines and one ready line (URL, mode, MLflow version, data, audit, how to stop); in a pipe, JSON lines that parse", async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(path.join(scratch, "terminal-"));
    const terminal = startAtTerminal(localEnv(port, dataDir));
    // The same gateway without a terminal, started alongside to share the wait for MLflow.
    const piped = await startGateway();
    try {
      const readyLine = await waitFor(
        "the ready line at the terminal",
        () =>
          terminal
            .screen()
            .split(/\r?\n/)
            .find((line) => line.replace(ANSI, "").includes(" Ready: ")),
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      const version = (await (await fetch(`http://127.0.0.1:${port}/-/version`)).json()) as { mlflow: string };
      assert.equal(
        readyLine.replace(ANSI, "").replace(/^\d\d:\d\d:\d\d info  gateway /, ""),
        `Ready: open http://localhost:${port}  (local mode, MLflow ${version.mlflow}, data in ${dataDir}, audit trail in ${dataDir}/audit; Ctrl-C stops it)`,
      );
      assert.ok(readyLine.includes("\u001b[1;32mReady:"), "the ready line stands out in bold green");
      const ui = await fetch(`http://localhost:${port}/`);
      assert.equal(ui.status, 200, "the URL it gives serves the UI");

      const lines = terminal
        .screen()
        .split(/\r?\n/)
        .map((line) => line.replace(ANSI, ""))
        .filter((line) => line.trim() !== "");
      for (const line of lines) assert.match(line, READABLE_LINE, "every line is readable, none is JSON");
      assert.equal(lines.filter((line) => line.includes(" Ready: ")).length, 1, "one ready line");
      const childInfo = lines.filter((line) => / info +mlflow /.test(line));
      assert.deepEqual(childInfo, [], "the child's routine start-up lines stay at debug");
      assert.ok(
        lines.some((line) => line.includes("starting mlflow server")),
        "the gateway says what it is doing",
      );

      // Ctrl-C, typed into the terminal.
      terminal.child.stdin?.write("\u0003");
      const result = await terminal.child;
      assert.equal(result.exitCode, 0, terminal.screen());
      assert.match(terminal.screen().replace(ANSI, ""), /shutting down {2}signal=SIGINT/);

      const readyEvent = await piped.waitForLog((line) => line["event"] === "ready", 60_000);
      assert.equal(
        readyEvent.message?.startsWith(`Ready: open http://localhost:${piped.port}  (local mode, MLflow ${version.mlflow}`),
        true,
        readyEvent.message,
      );
      assert.match(String(readyEvent.message), /SIGTERM stops it\)$/);
      assert.equal(readyEvent["mode"], "local");
      assert.equal(readyEvent["mlflowVersion"], version.mlflow);
      assert.deepEqual(
        piped.logs.filter((line) => line.source === "unparsed"),
        [],
        "without a terminal every line is JSON",
      );
      assert.ok(
        piped.logs.some((line) => line.source === "mlflow" && line["level"] === "info"),
        "and the child's lines are kept at info for collection",
      );
    } finally {
      if (terminal.child.exitCode === null) terminal.child.kill("SIGTERM");
      await terminal.child;
      await piped.stop();
    }
  });

  it("when the port is taken, says which and how to choose another, and exits at once without starting MLflow", async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    const dataDir = mkdtempSync(path.join(scratch, "taken-"));
    try {
      const started = Date.now();
      const result = await execa(GATEWAY_NODE, [ENTRY], { env: localEnv(port, dataDir), extendEnv: false, reject: false, timeout: 30_000 });
      const took = Date.now() - started;
      assert.equal(result.exitCode, 3);
      assert.equal(
        result.stderr,
        `Port ${port} on 127.0.0.1 is already in use. Fix: stop the other program (another gateway still running?), or choose another port: PORT=${port + 1} npm run local`,
      );
      assert.ok(took < 10_000, `exited after ${took} ms`);
      assert.ok(!result.stdout.includes("starting mlflow server"), "MLflow was never started");

      // At a terminal the same message, and no JSON.
      const terminal = startAtTerminal(localEnv(port, dataDir));
      const atTerminal = await terminal.child;
      assert.equal(atTerminal.exitCode, 3);
      const screen = terminal.screen().replace(ANSI, "").trim();
      assert.equal(
        screen,
        `Port ${port} on 127.0.0.1 is already in use. Fix: stop the other program (another gateway still running?), or choose another port: PORT=${port + 1} npm run local`,
      );
    } finally {
      holder.close();
    }
  });
});
