import type { IncomingMessage, ServerResponse } from "node:http";
import type { AccessLog } from "../log/access-log.js";
import { cleanForLog } from "../log/create-logger.js";
import type { RequestContext } from "../request/request-context.js";

/** Paths are logged without query strings: queries can carry names and filters users consider private. */
const MAX_LOGGED_PATH = 512;

/** One line per request, whatever answered it. */
export function logAccess(
  writer: AccessLog,
  req: IncomingMessage,
  res: ServerResponse,
  context: RequestContext,
  status: number,
  durationMs: number,
): void {
  writer.write({
    source: "access",
    requestId: context.requestId,
    method: req.method,
    path: cleanForLog(context.path, MAX_LOGGED_PATH),
    status,
    durationMs: Math.round(durationMs * 100) / 100,
    operation: context.route?.route.operation,
    class: context.metricClass,
    error: context.errorCode,
    aborted: !res.writableFinished || undefined,
  });
}
