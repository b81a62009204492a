/**
 * The data the workloads read and write, created straight on the child over MLflow's REST
 * API: an experiment with a few runs (small reads), and runs that take the metric batches
 * (small writes), one set per path so no two rows write the same metrics.
 */

export interface Fixtures {
  readExperimentId: string;
  /** Runs receiving LogBatch calls, per path name. */
  writeRunIds: Record<string, string[]>;
  artifactRunPrefix: string;
}

/** "A few runs" for SearchRuns, each with a handful of params and metrics. */
const READ_RUNS = 5;
const FIELDS_PER_RUN = 5;

async function call<T>(baseUrl: string, method: "GET" | "POST", apiPath: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}/api/2.0/mlflow/${apiPath}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function createExperiment(baseUrl: string, name: string): Promise<string> {
  return (await call<{ experiment_id: string }>(baseUrl, "POST", "experiments/create", { name })).experiment_id;
}

async function createRun(baseUrl: string, experimentId: string, name: string): Promise<string> {
  const created = await call<{ run: { info: { run_id: string } } }>(baseUrl, "POST", "runs/create", {
    experiment_id: experimentId,
    run_name: name,
    start_time: Date.now(),
  });
  return created.run.info.run_id;
}

export async function createFixtures(childUrl: string, paths: readonly string[], writeRunsPerPath: number): Promise<Fixtures> {
  const stamp = Date.now();
  const readExperimentId = await createExperiment(childUrl, `bench-reads-${stamp}`);
  for (let r = 0; r < READ_RUNS; r += 1) {
    const runId = await createRun(childUrl, readExperimentId, `read-${r}`);
    const now = Date.now();
    await call(childUrl, "POST", "runs/log-batch", {
      run_id: runId,
      params: Array.from({ length: FIELDS_PER_RUN }, (_, i) => ({ key: `param_${i}`, value: `value-${r}-${i}` })),
      metrics: Array.from({ length: FIELDS_PER_RUN }, (_, i) => ({ key: `metric_${i}`, value: r * i, timestamp: now, step: 0 })),
      tags: [{ key: "bench", value: "reads" }],
    });
  }
  const writeExperimentId = await createExperiment(childUrl, `bench-writes-${stamp}`);
  const writeRunIds: Record<string, string[]> = {};
  for (const name of paths) {
    writeRunIds[name] = [];
    for (let r = 0; r < writeRunsPerPath; r += 1) writeRunIds[name].push(await createRun(childUrl, writeExperimentId, `write-${name}-${r}`));
  }
  return { readExperimentId, writeRunIds, artifactRunPrefix: `bench-${stamp}` };
}
