import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEventRecord } from "../../src/audit/audit-record.js";
import { type DifferentialCase, generateCorpus, templateRoutesMissingFrom } from "../differential/corpus.js";
import { readAuditEvents, waitForAuditEvents } from "../support/audit-files.js";
import { type GatewayProcess, REPO_ROOT, startGateway } from "../support/gateway-process.js";
import { type RawAnswer, rawExchange, rawRequest } from "../support/raw-http.js";

// Differential parsing: the gateway decides identity, policy and audit from its reading of
// a request, MLflow acts on its own reading of the same bytes. Every case of the generated
// corpus (test/differential/corpus.ts) goes through the gateway to the real child; what
// MLflow did is read from its answer (reads) or from the runs' state afterwards (writes),
// and must be what the gateway audited, or the gateway must have refused the request.
// Own gateway: the corpus writes tags and reads the audit files.

interface Fixture {
  experimentId: string;
  runA: string;
  runB: string;
}

let gateway: GatewayProcess;
let auditDir: string;
let fixture: Fixture;
const port = (): number => Number(new URL(gateway.url).port);

before(async () => {
  auditDir = mkdtempSync(path.join(tmpdir(), "differential-audit-"));
  gateway = await startGateway({ env: { GATEWAY_AUDIT_DIR: auditDir } });
  const post = async (route: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${gateway.url}/api/2.0/mlflow/${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, `${route}: ${await response.clone().text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const experimentId = String((await post("experiments/create", { name: `differential-${Date.now()}` }))["experiment_id"]);
  const runOf = async (): Promise<string> =>
    ((await post("runs/create", { experiment_id: experimentId, start_time: Date.now() })) as { run: { info: { run_id: string } } }).run.info.run_id;
  fixture = { experimentId, runA: await runOf(), runB: await runOf() };
});
after(async () => {
  await gateway?.stop();
});

interface Outcome {
  testCase: DifferentialCase;
  requestId: string;
  tagKey: string;
  answer: RawAnswer;
}

function fill(text: string, tagKey: string): string {
  return text.replaceAll("{A}", fixture.runA).replaceAll("{B}", fixture.runB).replaceAll("{E}", fixture.experimentId).replaceAll("{K}", tagKey);
}

/** The object MLflow acted on, as its own answer or the runs' state shows; undefined when it did nothing. */
function executedBy(outcome: Outcome, tags: Map<string, string[]>): string | undefined {
  const { testCase, answer } = outcome;
  if (testCase.template === "SetTag") {
    const runs = tags.get(outcome.tagKey) ?? [];
    assert.ok(runs.length <= 1, `${testCase.id}: the tag landed on ${runs.length} runs`);
    return runs[0];
  }
  if (answer.status !== 200 || answer.body === "") return answer.status === 200 ? "unobservable" : undefined;
  let parsed: { run?: { info?: { run_id?: string } }; experiment?: { experiment_id?: string } };
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    return undefined; // an HTML page (the UI's fallback route): no MLflow call happened
  }
  return testCase.template === "GetRun" ? parsed.run?.info?.run_id : parsed.experiment?.experiment_id;
}

/** The object the gateway's audit event names for the template's one id. */
function auditedObject(event: AuditEventRecord, testCase: DifferentialCase): string | undefined {
  const value = testCase.template === "GetExperiment" ? event.objects.experiment_id : event.objects.run_id;
  return value === undefined || value === null ? undefined : String(value);
}

describe("differential parsing: the gateway audits what MLflow does, or refuses", () => {
  it("the corpus's routes exist in the installed MLflow, and the corpus is large", () => {
    const table = JSON.parse(readFileSync(path.join(REPO_ROOT, "src/routes/mlflow-routes.json"), "utf8")) as {
      routes: Array<{ method: string; path: string }>;
    };
    assert.deepEqual(templateRoutesMissingFrom(table.routes), []);
    assert.ok(generateCorpus().length >= 180);
  });

  it("agrees with MLflow on every case of the corpus", async () => {
    const corpus = generateCorpus();
    const outcomes: Outcome[] = [];
    for (const [index, testCase] of corpus.entries()) {
      const requestId = `differential-${index}`;
      const tagKey = `differential_${index}`;
      const headers: Record<string, string> = { "X-Request-Id": requestId };
      for (const [name, value] of Object.entries(testCase.headers)) headers[name] = fill(value, tagKey);
      const body = testCase.body === undefined ? undefined : fill(testCase.body, tagKey);
      const answer = await rawExchange(port(), [rawRequest(testCase.method, fill(testCase.target, tagKey), headers, body)]);
      outcomes.push({ testCase, requestId, tagKey, answer });
    }
    // Which run carries each case's tag, read straight from the runs (canonical requests).
    const tags = new Map<string, string[]>();
    for (const runId of [fixture.runA, fixture.runB]) {
      const run = (await (await fetch(`${gateway.url}/api/2.0/mlflow/runs/get?run_id=${runId}`)).json()) as {
        run: { data: { tags?: Array<{ key: string }> } };
      };
      for (const tag of run.run.data.tags ?? []) tags.set(tag.key, [...(tags.get(tag.key) ?? []), runId]);
    }
    // Not every case has an event (Node's parser refuses some before the gateway sees them, and
    // paths that are not MLflow calls are not audited): a last canonical call's event, written
    // after all the others, says the trail is complete.
    const marker = await fetch(`${gateway.url}/api/2.0/mlflow/runs/get?run_id=${fixture.runA}`, {
      headers: { "x-request-id": "differential-marker" },
    });
    assert.equal(marker.status, 200);
    await waitForAuditEvents(auditDir, ["differential-marker"]);
    const events = new Map(readAuditEvents(auditDir).map((event) => [event.request_id, event]));

    const disagreements: string[] = [];
    let executed = 0;
    for (const outcome of outcomes) {
      const { testCase } = outcome;
      const event = events.get(outcome.requestId);
      const actedOn = executedBy(outcome, tags);
      const say = (what: string): void => {
        disagreements.push(
          `${testCase.id} [${testCase.method} ${JSON.stringify(fill(testCase.target, outcome.tagKey))}] -> ${outcome.answer.status}: ${what}`,
        );
      };
      if (actedOn === undefined) {
        if (testCase.template === "SetTag" && event?.action === "SetTag" && event.outcome.status < 300)
          say("audited as a SetTag that succeeded, but no run got the tag");
        continue;
      }
      executed += 1;
      if (event === undefined) {
        say(`MLflow performed ${testCase.template} on ${actedOn}, and there is no audit event`);
        continue;
      }
      if (event.action !== testCase.template) say(`MLflow performed ${testCase.template}, the gateway audited ${event.action}`);
      const audited = auditedObject(event, testCase);
      if (actedOn !== "unobservable" && audited !== actedOn) say(`MLflow acted on ${actedOn}, the gateway audited ${String(audited)}`);
    }
    const refusedByGateway = outcomes.filter((o) => !/\r\nx-request-id: /i.test(o.answer.head) || o.answer.body.includes('"gateway_error"')).length;
    console.log(
      `differential corpus: ${outcomes.length} cases; MLflow performed ${executed}, the gateway (or Node's parser) refused ${refusedByGateway}, MLflow refused or ignored the rest`,
    );
    assert.ok(executed >= 20, "enough cases reach MLflow for the comparison to mean something");
    assert.deepEqual(disagreements, []);
  });
});
