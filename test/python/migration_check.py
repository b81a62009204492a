"""Checks a migrated copy against what migration_seed.py wrote (its manifest), reading only
the target, so the check does not rest on the migration tool's own verify: each source run
has one copy with its params, metric points, file hashes, author and mapped parent; each
version and alias is there; the champion loads and predicts.

Usage: python migration_check.py <app url> <manifest JSON> <catalog.schema>
"""

import hashlib
import json
import os
import sys
import tempfile

import mlflow
import numpy as np
from mlflow import MlflowClient

url, manifest, schema = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
mlflow.set_tracking_uri(url)
mlflow.set_registry_uri(url)
client = MlflowClient()
problems = []

copies = {}
for team in sorted({r["experiment"] for r in manifest["runs"].values()}):
    experiment = client.get_experiment_by_name(team)
    for run in client.search_runs([experiment.experiment_id], max_results=1000):
        copies.setdefault(run.data.tags.get("migration.source_run_id"), []).append(run)

checked = 0
for source_id, expected in manifest["runs"].items():
    found = copies.get(source_id, [])
    if len(found) != 1:
        problems.append(f"{source_id}: {len(found)} copies")
        continue
    copy = found[0]
    if copy.data.params != expected["params"]:
        problems.append(f"{source_id}: params {copy.data.params}")
    points = sum(len(client.get_metric_history(copy.info.run_id, key)) for key in copy.data.metrics)
    if points != expected["metric_points"]:
        problems.append(f"{source_id}: {points} metric points")
    if copy.data.tags.get("migration.source_user") != expected["user"]:
        problems.append(f"{source_id}: author {copy.data.tags.get('migration.source_user')}")
    if expected["parent"]:
        parent_copy = copies.get(expected["parent"], [None])[0]
        if parent_copy is None or copy.data.tags.get("mlflow.parentRunId") != parent_copy.info.run_id:
            problems.append(f"{source_id}: parent not mapped to its copy")
    folder = client.download_artifacts(copy.info.run_id, "", tempfile.mkdtemp())
    hashes = {}
    for root, _, names in os.walk(folder):
        for name in names:
            full = os.path.join(root, name)
            hashes[os.path.relpath(full, folder)] = hashlib.sha256(open(full, "rb").read()).hexdigest()
    if hashes != expected["files"]:
        problems.append(f"{source_id}: files {sorted(hashes)} differ")
    checked += 1

for name, expected in manifest["models"].items():
    target = f"{schema}.{name.lower().replace(' ', '_').replace('-', '_')}"
    # Unity Catalog's search answers versions without tags: read each one.
    found = [client.get_model_version(target, v.version) for v in client.search_model_versions(f"name='{target}'")]
    versions = {v.tags.get("migration.source_version"): v for v in found}
    for number, source in expected["versions"].items():
        version = versions.get(f"{name}/{number}")
        run_copy = copies.get(source["run_id"], [None])[0]
        if version is None or version.status != "READY" or run_copy is None or version.run_id != run_copy.info.run_id:
            problems.append(f"{target} version for {name}/{number} missing, not ready, or not linked to the run's copy")
    aliases = client.get_registered_model(target).aliases
    for alias, number in expected["aliases"].items():
        holder = versions.get(f"{name}/{number}")
        if holder is None or str(aliases.get(alias)) != str(holder.version):
            problems.append(f"{target}@{alias} is {aliases.get(alias)}, expected the copy of version {number}")

# docs/migration.md's way to find a copy by its old id, in any experiment.
first = next(iter(manifest["runs"]))
by_tag = mlflow.search_runs(filter_string=f"tags.`migration.source_run_id` = '{first}'", search_all_experiments=True,
                            output_format="list")
if [r.info.run_id for r in by_tag] != [copies[first][0].info.run_id]:
    problems.append(f"searching by migration.source_run_id found {[r.info.run_id for r in by_tag]}")

features = np.random.default_rng(3).normal(size=(5, 3))
champion = mlflow.pyfunc.load_model(f"models:/{schema}.churn_model@champion")
print(json.dumps({"problems": problems, "checked": checked, "champion_predictions": len(champion.predict(features))}))
