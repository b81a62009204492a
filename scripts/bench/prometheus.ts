/** Reads values from the gateway's /-/metrics (Prometheus text format). */

/**
 * The sum of every sample of a metric (all label sets). The name matches with or without
 * a prefix (`mlflow_gateway_audit_events_total` matches `gateway_audit_events_total`).
 * Undefined when the metric is absent.
 */
export function readMetricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const metric = match[1] ?? "";
    if (metric !== name && !metric.endsWith(`_${name}`)) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

export async function scrapeMetric(baseUrl: string, name: string): Promise<number | undefined> {
  const response = await fetch(`${baseUrl}/-/metrics`, { signal: AbortSignal.timeout(5_000) });
  return readMetricSum(await response.text(), name);
}
