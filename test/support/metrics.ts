import assert from "node:assert/strict";

/** One counter or gauge of the gateway's /-/metrics (Prometheus text), which must be exported. */
export async function readMetric(gatewayUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/-/metrics`)).text();
  const match = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, "m").exec(text);
  assert.ok(match, `metric ${name} is exported`);
  return Number(match[1]);
}
