"""A short working session with the MLflow client, for the audit trail test.

Usage: python audit_session.py <tracking uri> <scratch dir>
Creates an experiment and a run, logs a param, metrics and tags, uploads and downloads an
artifact, searches, and ends the run. Prints the ids it touched.
"""

import json
import os
import sys

tracking_uri, scratch = sys.argv[1], sys.argv[2]

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

mlflow.set_tracking_uri(tracking_uri)
client = MlflowClient(tracking_uri)
experiment_id = client.create_experiment(f"audit-session-{os.getpid()}")
run = client.create_run(experiment_id)
run_id = run.info.run_id
client.log_param(run_id, "learning_rate", "lr-value-7d1f")
client.log_batch(run_id, metrics=[mlflow.entities.Metric("loss", 0.5 - i / 100, 0, i) for i in range(5)])
client.set_tag(run_id, "stage", "audit")
notes = os.path.join(scratch, "notes.txt")
with open(notes, "w") as f:
    f.write("audited artifact\n")
client.log_artifact(run_id, notes)
downloaded = client.download_artifacts(run_id, "notes.txt", scratch + "/down")
found = client.search_runs([experiment_id])
client.set_terminated(run_id)
print(json.dumps({
    "experiment_id": experiment_id,
    "run_id": run_id,
    "downloaded": open(downloaded).read(),
    "found": len(found),
}))
