"""Seeds a source MLflow server for the migration test: 3 experiments of 10 runs (params,
tags, two metrics with 25-step histories, a text and a binary artifact, one child run per
experiment), a scikit-learn logged model in 3 of the runs, and 2 registered models with
versions and aliases. Prints one JSON line: what was written, with artifact hashes.

Usage: python migration_seed.py <source tracking URI>
"""

import hashlib
import json
import os
import sys
import tempfile

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric
from sklearn.linear_model import LogisticRegression

uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient()
work = tempfile.mkdtemp()
rng = np.random.default_rng(3)
features = rng.normal(size=(60, 3))
labels = (features[:, 0] > 0).astype(int)

manifest = {"runs": {}, "models": {}}
logged_models = []
for e in range(3):
    experiment_id = client.create_experiment(f"team-{e}", tags={"team": f"t{e}"})
    parent_id = None
    for r in range(10):
        tags = {"mlflow.user": f"user{r % 3}@example.com", "stage": "seed"}
        if r == 9:
            tags["mlflow.parentRunId"] = parent_id
        run = client.create_run(experiment_id, start_time=1_700_000_000_000 + e * 100_000 + r * 1000,
                                tags=tags, run_name=f"run-{e}-{r}")
        run_id = run.info.run_id
        parent_id = parent_id or run_id
        params = {"lr": str(0.01 * (r + 1)), "depth": str(r % 4), "experiment": str(e)}
        metrics = [Metric("loss", 1.0 / (s + 1 + r), 1_700_000_100_000 + s, s) for s in range(25)]
        metrics += [Metric("acc", 0.5 + s * 0.01 + r * 0.001, 1_700_000_200_000 + s, s) for s in range(25)]
        client.log_batch(run_id, metrics=metrics, params=[mlflow.entities.Param(k, v) for k, v in params.items()])
        folder = os.path.join(work, run_id)
        os.makedirs(os.path.join(folder, "data"))
        with open(os.path.join(folder, "notes.txt"), "w") as f:
            f.write(f"run {e}/{r}\n" * (r + 1))
        with open(os.path.join(folder, "data", "weights.bin"), "wb") as f:
            f.write(rng.bytes(4096 + 512 * r))
        client.log_artifacts(run_id, folder)
        if r in (2, 5, 8) and e < 2:
            with mlflow.start_run(run_id=run_id):
                model = LogisticRegression(C=1.0 + r).fit(features, labels)
                logged = mlflow.sklearn.log_model(model, name="model", input_example=features[:2])
            logged_models.append((e, r, logged.model_id, run_id))
        client.set_terminated(run_id, "FINISHED" if r != 7 else "FAILED", end_time=1_700_000_900_000 + r)
        hashes = {}
        for root, _, names in os.walk(folder):
            for name in names:
                full = os.path.join(root, name)
                hashes[os.path.relpath(full, folder)] = hashlib.sha256(open(full, "rb").read()).hexdigest()
        manifest["runs"][run_id] = {
            "experiment": f"team-{e}",
            "params": params,
            "metric_points": len(metrics),
            "files": hashes,
            "user": tags["mlflow.user"],
            "parent": tags.get("mlflow.parentRunId"),
        }

# Two registered models: "Churn Model" gets 3 versions (aliases champion, challenger),
# "fraud-detector" 2 versions (alias prod) and a model tag.
registered = {"Churn Model": logged_models[:3], "fraud-detector": logged_models[3:5]}
for name, models in registered.items():
    client.create_registered_model(name, tags={"owner": "ml-team"}, description=f"{name} for the migration test")
    for e, r, model_id, run_id in models:
        version = mlflow.register_model(f"models:/{model_id}", name, tags={"from": f"{e}/{r}"})
        manifest["models"].setdefault(name, {"versions": {}, "aliases": {}})["versions"][version.version] = {
            "run_id": run_id, "model_id": model_id}
aliases = {"Churn Model": {"champion": "2", "challenger": "3"}, "fraud-detector": {"prod": "1"}}
for name, mapping in aliases.items():
    for alias, version in mapping.items():
        client.set_registered_model_alias(name, alias, version)
    manifest["models"][name]["aliases"] = mapping
print(json.dumps(manifest))
