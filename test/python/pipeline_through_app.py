"""A training pipeline outside Databricks that knows only the app's URL and a token for
it (MLFLOW_TRACKING_TOKEN): artifacts, a scikit-learn model, Unity Catalog registration,
an alias, loading by version and by alias, and downloading everything back.

Usage: python pipeline_through_app.py <app url> <experiment name> <uc model name> <big file MB>
       python pipeline_through_app.py <app url> big-file <experiment name> <MB>

Prints one JSON line: what was logged (sha256 per artifact path) and what came back.
"""

import hashlib
import json
import os
import sys
import tempfile

import mlflow
from mlflow import MlflowClient


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def hashes_under(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            full = os.path.join(folder, name)
            found[os.path.relpath(full, root).replace(os.sep, "/")] = sha256_of(full)
    return found


def write_random(path, megabytes):
    with open(path, "wb") as f:
        for _ in range(megabytes):
            f.write(os.urandom(1 << 20))


url = sys.argv[1]
mlflow.set_tracking_uri(url)
mlflow.set_registry_uri(url)
client = MlflowClient()
work = tempfile.mkdtemp()

if sys.argv[2] == "big-file":
    experiment_name, megabytes = sys.argv[3], int(sys.argv[4])
    mlflow.set_experiment(experiment_name)
    big = os.path.join(work, "big.bin")
    write_random(big, megabytes)
    with mlflow.start_run() as run:
        mlflow.log_artifact(big)
    back = client.download_artifacts(run.info.run_id, "big.bin", os.path.join(work, "back"))
    print(json.dumps({"run_id": run.info.run_id, "logged": sha256_of(big), "downloaded": sha256_of(back)}))
    sys.exit(0)

experiment_name, model_name, big_mb = sys.argv[2], sys.argv[3], int(sys.argv[4])
mlflow.set_experiment(experiment_name)

files = os.path.join(work, "files")
os.makedirs(os.path.join(files, "many"))
with open(os.path.join(files, "small.txt"), "w") as f:
    f.write("x" * 1024)
write_random(os.path.join(files, "big.bin"), big_mb)
for index in range(20):
    with open(os.path.join(files, "many", f"part-{index:02d}.txt"), "w") as f:
        f.write(f"file {index}\n" * (index + 1))

import numpy as np
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(7)
features = rng.normal(size=(200, 4))
labels = (features[:, 0] + features[:, 1] > 0).astype(int)
model = LogisticRegression().fit(features, labels)

with mlflow.start_run() as run:
    mlflow.log_artifact(os.path.join(files, "small.txt"))
    mlflow.log_artifact(os.path.join(files, "big.bin"))
    mlflow.log_artifacts(os.path.join(files, "many"), artifact_path="many")
    logged = mlflow.sklearn.log_model(model, name="model", input_example=features[:2])

version = mlflow.register_model(f"models:/{logged.model_id}", model_name)
client.set_registered_model_alias(model_name, "champion", version.version)

expected = model.predict(features[:10]).tolist()
by_version = mlflow.pyfunc.load_model(f"models:/{model_name}/{version.version}").predict(features[:10])
by_alias = mlflow.pyfunc.load_model(f"models:/{model_name}@champion").predict(features[:10])

downloaded = client.download_artifacts(run.info.run_id, "", os.path.join(work, "back"))
run_info = client.get_run(run.info.run_id).info
print(
    json.dumps({
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "artifact_uri": run_info.artifact_uri,
        "model_id": logged.model_id,
        "model_artifact_location": client.get_logged_model(logged.model_id).artifact_location,
        "version": version.version,
        "version_source": client.get_model_version(model_name, version.version).source,
        "download_uri": client.get_model_version_download_uri(model_name, version.version),
        "logged": hashes_under(files),
        "downloaded": hashes_under(downloaded),
        "listed": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
        "expected": expected,
        "by_version": [int(v) for v in by_version],
        "by_alias": [int(v) for v in by_alias],
    })
)
