"""Drive the real MLflow Python client against a tracking URI and report what it read back.

Usage: python client_roundtrip.py <tracking uri> <experiment name> <large artifact MB>
Prints one JSON object: what was written (with hashes) and what was read back.
"""

import hashlib
import json
import os
import sys
import tempfile

import mlflow
from mlflow import MlflowClient


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    tracking_uri, experiment_name, large_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    experiment_id = client.create_experiment(experiment_name)

    workdir = tempfile.mkdtemp()
    small = os.path.join(workdir, "notes.txt")
    with open(small, "w") as handle:
        handle.write("hello through the gateway\n")
    large = os.path.join(workdir, "weights.bin")
    with open(large, "wb") as handle:
        for _ in range(large_mb):
            handle.write(os.urandom(1 << 20))

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({"lr": "0.01", "layers": "3"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.set_tags({"team": "ml-platform", "purpose": "gateway-test"})
        mlflow.log_artifact(small)
        mlflow.log_artifact(large, artifact_path="model")
    run_id = run.info.run_id

    fetched = client.get_run(run_id)
    history = client.get_metric_history(run_id, "loss")
    listed = sorted(a.path for a in client.list_artifacts(run_id))
    listed_model = sorted(a.path for a in client.list_artifacts(run_id, "model"))
    download_dir = tempfile.mkdtemp()
    small_back = client.download_artifacts(run_id, "notes.txt", download_dir)
    large_back = client.download_artifacts(run_id, "model/weights.bin", download_dir)

    print(json.dumps({
        "experiment_id": experiment_id,
        "experiment_name": client.get_experiment(experiment_id).name,
        "run_id": run_id,
        "status": fetched.info.status,
        "params": fetched.data.params,
        "tags": {k: v for k, v in fetched.data.tags.items() if not k.startswith("mlflow.")},
        "metric_history": [[m.step, m.value] for m in history],
        "artifacts": listed,
        "model_artifacts": listed_model,
        "written": {"small": sha256(small), "large": sha256(large), "large_bytes": os.path.getsize(large)},
        "read": {"small": sha256(small_back), "large": sha256(large_back), "large_bytes": os.path.getsize(large_back)},
    }))


if __name__ == "__main__":
    main()
