import type { IncomingMessage } from "node:http";
import type { RequestContext } from "./request-context.js";

/** JSON bodies up to this size are copied as they stream past (for the audit's object ids). */
export const BODY_SAMPLE_LIMIT = 64 * 1024;
/** Error answers from the child are sniffed for MLflow's error_code within this many bytes. */
const ERROR_SNIFF_LIMIT = 8 * 1024;

/**
 * Counts a request body and keeps a copy of a small JSON one while the proxy streams it
 * to the child: nothing waits for the copy. Call it right before the body starts to flow
 * (the proxy's proxyReq hook): a 'data' listener attached earlier would start the flow
 * before the proxy pipes it, and the child would miss the first chunks.
 */
export function observeRequestBody(req: IncomingMessage, context: RequestContext): void {
  const sample: Buffer[] | undefined = isJson(req.headers["content-type"]) ? [] : undefined;
  let sampled = 0;
  context.bodySample = sample;
  req.on("data", (chunk: Buffer) => {
    context.bytesIn += chunk.length;
    if (context.bodySample === undefined) return;
    sampled += chunk.length;
    if (sampled > BODY_SAMPLE_LIMIT) context.bodySample = undefined;
    else context.bodySample.push(chunk);
  });
}

/** Counts the child's answer as it is relayed, and reads MLflow's error_code from a small JSON error. */
export function observeResponseBody(proxyRes: IncomingMessage, context: RequestContext): void {
  const status = proxyRes.statusCode ?? 0;
  const sniff: Buffer[] | undefined = status >= 400 && isJson(proxyRes.headers["content-type"]) ? [] : undefined;
  let sniffed = 0;
  proxyRes.on("data", (chunk: Buffer) => {
    context.bytesOut += chunk.length;
    if (sniff !== undefined && sniffed < ERROR_SNIFF_LIMIT) {
      sniff.push(chunk);
      sniffed += chunk.length;
    }
  });
  if (sniff === undefined) return;
  proxyRes.once("end", () => {
    const match = /"error_code"\s*:\s*"([A-Z_]{1,64})"/.exec(Buffer.concat(sniff).toString("utf8"));
    if (match?.[1] !== undefined) context.mlflowErrorCode = match[1];
  });
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.toLowerCase().includes("json");
}
