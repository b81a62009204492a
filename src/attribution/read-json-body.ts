import type { IncomingMessage } from "node:http";
import { GatewayError } from "../errors.js";

/**
 * Bodies the gateway reads (only the few operations that name a person) are small
 * JSON documents; MLflow's own LogBatch limits keep them far below this.
 */
export const MAX_ATTRIBUTED_BODY_BYTES = 4 * 1024 * 1024;

export interface JsonBody {
  /** The bytes as received, forwarded unchanged when nothing needs rewriting. */
  raw: Buffer;
  parsed: Record<string, unknown>;
}

/** Reads and parses a JSON object body, refusing oversized, non-JSON or non-object bodies. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_ATTRIBUTED_BODY_BYTES): Promise<JsonBody> {
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(buffer);
  }
  const raw = Buffer.concat(chunks);
  const text = raw.toString("utf8");
  // MLflow reads these bodies as JSON whatever the content type says; so does the gateway.
  if (text.trim() === "" && !type.includes("json")) return { raw, parsed: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayError("BODY_REJECTED", "The request body is not valid JSON.");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new GatewayError("BODY_REJECTED", "The request body must be a JSON object.");
  }
  return { raw, parsed: parsed as Record<string, unknown> };
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError("BODY_REJECTED", `The request body is larger than ${limit} bytes.`);
}
