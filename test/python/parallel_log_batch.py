"""Many threads of the real MLflow Python client log batches at once, as a parallel sweep does.

Usage: python parallel_log_batch.py <tracking uri> <experiment name> <threads> <batches per thread>
Prints one JSON object: every call's outcome and duration, and how many metric values each run
holds afterwards.
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from mlflow import MlflowClient
from mlflow.entities import Metric

METRICS_PER_BATCH = 50


def main() -> None:
    tracking_uri, experiment_name = sys.argv[1], sys.argv[2]
    threads, batches = int(sys.argv[3]), int(sys.argv[4])
    client = MlflowClient(tracking_uri)
    experiment_id = client.create_experiment(experiment_name)
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(threads)]

    def log(worker: int) -> list[dict]:
        calls = []
        for batch in range(batches):
            now = int(time.time() * 1000)
            metrics = [Metric(f"m{i}", float(i), now, batch) for i in range(METRICS_PER_BATCH)]
            began = time.monotonic()
            try:
                client.log_batch(run_ids[worker], metrics=metrics)
                error = None
            except Exception as exc:  # reported, not raised: the test judges every call
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
            calls.append({"seconds": time.monotonic() - began, "error": error})
        return calls

    with ThreadPoolExecutor(max_workers=threads) as pool:
        calls = [call for worker_calls in pool.map(log, range(threads)) for call in worker_calls]

    values = [len(client.get_metric_history(run_id, "m0")) for run_id in run_ids]
    print(json.dumps({"calls": calls, "m0_values_per_run": values}))


if __name__ == "__main__":
    main()
