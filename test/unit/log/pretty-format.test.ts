import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createLogger } from "../../../src/log/create-logger.js";
import { describeFields } from "../../../src/log/pretty-format.js";

function capture(format: "json" | "pretty", colors = false) {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  const logger = createLogger("debug", { format, stream, colors });
  return { logger, lines: async () => (await new Promise((resolve) => setImmediate(resolve)), text.split("\n").filter((line) => line !== "")) };
}

const ESC = "\u001b[";

describe("the readable log format", () => {
  it("prints time, level, source and message, then the other fields as key=value", async () => {
    const { logger, lines } = capture("pretty");
    logger.info("mlflow server is ready", { pid: 42, url: "http://127.0.0.1:5001" });
    logger.warn("the policy file is invalid", { code: "POLICY_INVALID", problems: ["line 3: unknown permission", "line 9: bad glob"] });
    logger.log("info", "INFO:     Started server process", { source: "mlflow", stream: "stderr", pid: 7 });
    const [ready, warning, child] = await lines();
    assert.match(
      ready ?? "",
      /^\d\d:\d\d:\d\d info  gateway mlflow server is ready {2}url=http:\/\/127\.0\.0\.1:5001$/,
      "pid is left to the JSON format",
    );
    assert.match(
      warning ?? "",
      /^\d\d:\d\d:\d\d warn  gateway the policy file is invalid {2}code=POLICY_INVALID problems="line 3: unknown permission","line 9: bad glob"$/,
    );
    assert.match(child ?? "", /^\d\d:\d\d:\d\d info  mlflow {2}INFO: {5}Started server process$/);
    for (const line of await lines()) assert.ok(!line.includes(ESC), "no escape codes without colours");
  });

  it("colours the level and the ready line when the terminal has colours, keeping the columns aligned", async () => {
    const { logger, lines } = capture("pretty", true);
    logger.info("Ready: open http://localhost:8000", { event: "ready", url: "http://localhost:8000", mode: "local" });
    logger.error("boom");
    const [ready, error] = await lines();
    assert.ok(ready?.endsWith(`${ESC}1;32mReady: open http://localhost:8000${ESC}0m`), `the sentence alone, its fields are for JSON: ${ready}`);
    assert.ok(error?.includes(`${ESC}31merror${ESC}39m gateway boom`), error);
    const visible = (line: string | undefined): string => (line ?? "").replace(/\u001b\[[0-9;]*m/g, "");
    assert.equal(visible(ready).indexOf("gateway"), visible(error).indexOf("gateway"));
  });

  it("quotes values only when they need it and cuts a long field list", () => {
    assert.equal(describeFields({ a: "plain", b: "two words", c: 3, d: true, e: undefined, f: "" }), 'a=plain b="two words" c=3 d=true');
    assert.equal(describeFields({ nested: { x: 1 } }), 'nested={"x":1}');
    const long = describeFields({ big: "x".repeat(1_000) });
    assert.ok(long.endsWith("...") && long.length < 420, `cut at ${long.length}`);
  });

  it("keeps JSON lines (with time, level, message, source) as the other format", async () => {
    const { logger, lines } = capture("json");
    logger.info("gateway listening", { url: "http://localhost:8000" });
    const line = JSON.parse((await lines())[0] ?? "") as Record<string, unknown>;
    assert.equal(line["message"], "gateway listening");
    assert.equal(line["source"], "gateway");
    assert.equal(line["level"], "info");
    assert.match(String(line["time"]), /^\d{4}-\d\d-\d\dT/);
  });
});
