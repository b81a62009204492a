import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { AuditConfig } from "../config/audit-config.js";
import { FilesClient } from "../databricks/files-client.js";
import type { WorkspaceClient } from "../databricks/workspace-client.js";
import type { Logger } from "../log/create-logger.js";
import { AuditTrail, newStreamId } from "./audit-trail.js";
import type { AuditSink } from "./sinks/audit-sink.js";
import { FileSink } from "./sinks/file-sink.js";
import { StdoutSink } from "./sinks/stdout-sink.js";
import { VolumeSink } from "./sinks/volume-sink.js";

const LOCAL_KEY_FILE = "hmac.key";

/** Builds the configured sinks and the trail that feeds them. */
export function createAuditTrail(config: AuditConfig, deps: { workspace: WorkspaceClient | undefined; logger: Logger }): AuditTrail {
  const stream = newStreamId();
  const { logger } = deps;
  const sinks: AuditSink[] = [];
  for (const kind of config.sinks) {
    switch (kind) {
      case "stdout":
        sinks.push(new StdoutSink());
        break;
      case "file":
        sinks.push(
          new FileSink({
            dir: config.dir,
            stream,
            maxBytes: config.fileMaxBytes,
            fsyncIntervalMs: config.fsyncIntervalMs,
            onEvent: (level, message) => logger.log(level, message, { sink: "file" }),
          }),
        );
        break;
      case "volume": {
        const { workspace } = deps;
        if (workspace === undefined || config.volumePath === undefined)
          throw new Error("the volume sink needs Databricks mode and GATEWAY_AUDIT_VOLUME");
        const files = new FilesClient(workspace);
        sinks.push(
          new VolumeSink({
            volumePath: config.volumePath,
            spoolDir: path.join(config.dir, "spool"),
            stream,
            batchMaxEvents: config.batchMaxEvents,
            batchIntervalMs: config.batchIntervalMs,
            spoolMaxBytes: config.spoolMaxBytes,
            // Each batch replaces any object of the same name: a batch re-sent after an unacknowledged success lands on itself.
            put: (objectPath, body, timeoutMs) => files.upload(objectPath, body, body.length, { timeoutMs }),
            onEvent: (level, message, meta) => logger.log(level, message, { sink: "volume", ...meta }),
          }),
        );
        break;
      }
    }
  }
  return new AuditTrail({
    stream,
    sinks,
    hmacKey: config.hmacKey === undefined ? localKey(config.dir, logger) : Buffer.from(config.hmacKey.reveal(), "utf8"),
    digestIntervalMs: config.digestIntervalMs,
    onFailure: config.onFailure,
    logger,
  });
}

/**
 * A local run has no secret store: its digest key is generated once and kept next to the
 * files (readable by the owner only). That proves order and completeness to the owner,
 * not to a third party; Databricks mode requires a key from a secret instead.
 */
function localKey(dir: string, logger: Logger): Buffer {
  const file = path.join(dir, LOCAL_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
    logger.info("generated a local audit digest key", { file });
  }
  return Buffer.from(readFileSync(file, "utf8").trim(), "utf8");
}
