import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { logFormatBeforeConfig, outputFactsOf, resolveLogFormat, streamHasColors } from "../../../src/log/log-format.js";

describe("choosing the log format", () => {
  const cases: Array<[string, "auto" | "json" | "pretty", boolean, boolean, "json" | "pretty"]> = [
    ["auto at a terminal on a laptop: readable", "auto", true, false, "pretty"],
    ["auto, output piped or collected: JSON", "auto", false, false, "json"],
    ["auto on Databricks Apps, even with a terminal: JSON", "auto", true, true, "json"],
    ["json forced at a terminal", "json", true, false, "json"],
    ["pretty forced without a terminal", "pretty", false, false, "pretty"],
    ["pretty forced on Databricks Apps", "pretty", false, true, "pretty"],
  ];
  for (const [name, setting, isTTY, onDatabricksApps, expected] of cases) {
    it(name, () => assert.equal(resolveLogFormat(setting, { isTTY, onDatabricksApps }), expected));
  }

  it("knows Databricks Apps by the variables the platform injects", () => {
    assert.equal(outputFactsOf({ DATABRICKS_APP_NAME: "mlflow" }, { isTTY: true }).onDatabricksApps, true);
    assert.equal(outputFactsOf({ DATABRICKS_APP_PORT: "8000" }, {}).onDatabricksApps, true);
    assert.deepEqual(outputFactsOf({ DATABRICKS_HOST: "https://x" }, { isTTY: true }), { isTTY: true, onDatabricksApps: false });
  });

  it("before the configuration is read, uses a valid setting and otherwise what auto would choose", () => {
    assert.equal(logFormatBeforeConfig({ GATEWAY_LOG_FORMAT: "Pretty" }, { isTTY: false }), "pretty");
    assert.equal(logFormatBeforeConfig({ GATEWAY_LOG_FORMAT: "nonsense" }, { isTTY: true }), "pretty");
    assert.equal(logFormatBeforeConfig({ GATEWAY_LOG_FORMAT: "nonsense" }, { isTTY: false }), "json");
  });

  it("uses colours only on a terminal that says it has them", () => {
    const piped = new PassThrough();
    assert.equal(streamHasColors(piped), false);
    const terminal = Object.assign(new PassThrough(), { isTTY: true, hasColors: () => true });
    assert.equal(streamHasColors(terminal), true);
    const monochrome = Object.assign(new PassThrough(), { isTTY: true, hasColors: () => false });
    assert.equal(streamHasColors(monochrome), false, "NO_COLOR or TERM=dumb");
  });
});
