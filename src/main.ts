/**
 * Entry point: validate configuration, start the supervised `mlflow server` child, then
 * the HTTP side, and stop both cleanly on SIGTERM/SIGINT.
 *
 * The child takes seconds to start and the HTTP side a few hundred milliseconds to load,
 * so the child is spawned first and the rest is imported while it boots: only the
 * modules the supervisor needs are imported statically here (cold start, docs/benchmark.md).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "./config/load-config.js";
import type { Config } from "./config/config.js";
import { isGatewayError } from "./errors.js";
import { createLogger, flushLogger, type Logger, setKnownSecrets } from "./log/create-logger.js";
import { type LogFormat, logFormatBeforeConfig, outputFactsOf, resolveLogFormat } from "./log/log-format.js";
import { assertPortAvailable } from "./http/serve.js";
import { buildChildCommand } from "./supervisor/child-command.js";
import { findMlflow } from "./supervisor/find-mlflow.js";
import { findFreePort } from "./supervisor/free-port.js";
import { Supervisor } from "./supervisor/supervisor.js";
import type { RunningGateway } from "./start-gateway.js";

/** Databricks Apps sends SIGKILL 15 s after SIGTERM; finish (or give up) before that. */
const SHUTDOWN_DEADLINE_MS = 14_500;
const LOG_FLUSH_TIMEOUT_MS = 500;
/** Exit codes an operator (or a test) can tell apart. */
const EXIT_CONFIG_INVALID = 2;
const EXIT_STARTUP_FAILED = 3;

// src/main.ts and dist/main.js both sit one level below the repository root.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, { repoRoot });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      // The readable message above is all a person at a terminal needs; collected logs also get the structured line.
      if (logFormatBeforeConfig(process.env, process.stdout) === "json") {
        createLogger("error").error("configuration is invalid", { code: error.code, problems: error.problems });
      }
      process.exitCode = EXIT_CONFIG_INVALID;
      return;
    }
    throw error;
  }

  const auth = config.databricks?.auth;
  setKnownSecrets([auth?.kind === "oauth-m2m" ? auth.clientSecret.reveal() : auth?.token.reveal(), config.audit.hmacKey?.reveal()]);
  const logFormat = resolveLogFormat(config.logFormat, outputFactsOf(process.env, process.stdout));
  const logger = createLogger(config.logLevel, { format: logFormat });
  try {
    await run(config, logger, logFormat);
  } catch (error) {
    const message = isGatewayError(error) ? error.message : String(error);
    process.stderr.write(`${message}\n`);
    if (logFormat === "json") {
      logger.error("gateway failed to start", { code: isGatewayError(error) ? error.code : "INTERNAL", error: message });
    }
    await flushLogger(logger, LOG_FLUSH_TIMEOUT_MS);
    // The supervisor's exit hook kills a child that was already started.
    process.exit(EXIT_STARTUP_FAILED);
  }
}

async function run(config: Config, logger: Logger, logFormat: LogFormat): Promise<void> {
  // A taken port fails now, in milliseconds, not after the child's seconds of start-up.
  await assertPortAvailable(config.listen.host, config.listen.port, config.listen.portVariable);
  const executable = findMlflow({ explicit: config.mlflow.executable, repoRoot, pathEnv: process.env["PATH"] });
  if (config.dataDir !== undefined) {
    mkdirSync(path.join(config.dataDir, "artifacts"), { recursive: true });
  }
  const childPort = config.mlflow.port ?? (await findFreePort());
  const supervisor = new Supervisor({
    command: buildChildCommand(config, executable, childPort, process.env),
    port: childPort,
    startTimeoutMs: config.mlflow.startTimeoutMs,
    logger,
    childInfoLevel: logFormat === "pretty" ? "debug" : "info",
  });
  supervisor.start();

  const started: { gateway?: RunningGateway } = {};
  let shuttingDown = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info("shutting down", { signal, graceMs: config.shutdownGraceMs });
    // Never outlive the platform's SIGKILL with a half-done shutdown.
    setTimeout(() => {
      logger.error("shutdown took too long; exiting now");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    // A signal during start-up finds no HTTP side yet: the child is all there is to stop.
    await (started.gateway === undefined ? supervisor.stop() : started.gateway.stop(Date.now() + SHUTDOWN_DEADLINE_MS));
    await flushLogger(logger, LOG_FLUSH_TIMEOUT_MS);
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => void shutdown(signal));
  }

  const { startGateway } = await import("./start-gateway.js");
  if (shuttingDown) return;
  started.gateway = await startGateway({ config, logger, supervisor, repoRoot, logFormat });
}

await main();
