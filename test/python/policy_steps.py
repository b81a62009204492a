"""Runs a list of MLflow client steps as one person and reports each step's outcome.

Usage: policy_steps.py <tracking uri> '<json list of steps>'; the token is MLFLOW_TRACKING_TOKEN.
Each step is {"do": <action>, ...arguments}; the output (last line) is a JSON list with, per
step, {"ok": true, "value": ...} or {"ok": false, "status": <http status>, "error_code": ..., "message": ...}.
"""

import json
import os
import sys
import tempfile

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

uri, steps = sys.argv[1], json.loads(sys.argv[2])
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient(uri, uri)
MLMODEL = os.environ.get("POLICY_MLMODEL", "")


def create_experiment(name):
    return client.create_experiment(name)


def create_run(experiment_id, metric=None):
    run = client.create_run(experiment_id)
    if metric is not None:
        client.log_metric(run.info.run_id, "m", metric)
    return run.info.run_id


def log_artifact(run_id, text):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "note.txt")
        with open(path, "w") as handle:
            handle.write(text)
        client.log_artifact(run_id, path)
    return "note.txt"


def download_artifact(run_id):
    with tempfile.TemporaryDirectory() as folder:
        local = client.download_artifacts(run_id, "note.txt", folder)
        with open(local) as handle:
            return handle.read()


def log_model_files(run_id):
    # The smallest model Unity Catalog accepts: an MLmodel with a signature.
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(os.path.join(folder, "model"))
        with open(os.path.join(folder, "model", "MLmodel"), "w") as handle:
            handle.write(MLMODEL)
        client.log_artifacts(run_id, os.path.join(folder, "model"), "model")
    return "model"


def register(name, run_id):
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if "ALREADY_EXISTS" not in str(error.error_code):
            raise
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    return version.version


ACTIONS = {
    "create_experiment": create_experiment,
    "create_run": create_run,
    "log_artifact": log_artifact,
    "download_artifact": download_artifact,
    "log_model_files": log_model_files,
    "register": register,
    "get_run": lambda run_id: client.get_run(run_id).info.experiment_id,
    "get_experiment": lambda experiment_id: client.get_experiment(experiment_id).name,
    "search_runs": lambda experiment_ids: [r.info.run_id for r in client.search_runs(experiment_ids)],
    "search_experiments": lambda: sorted(e.name for e in client.search_experiments(max_results=2)),
    "search_all_experiments": lambda: sorted(
        e.name for e in _paged(lambda token: client.search_experiments(max_results=2, page_token=token))
    ),
    "search_models": lambda: sorted(m.name for m in client.search_registered_models()),
    "get_model": lambda name: client.get_registered_model(name).name,
    "set_alias": lambda name, alias, version: client.set_registered_model_alias(name, alias, version),
    "delete_run": lambda run_id: client.delete_run(run_id),
    "delete_experiment": lambda experiment_id: client.delete_experiment(experiment_id),
    "set_experiment_tag": lambda experiment_id, key, value: client.set_experiment_tag(experiment_id, key, value),
}


def _paged(page):
    items, token, pages = [], None, 0
    while True:
        result = page(token)
        pages += 1
        items.extend(result)
        token = result.token
        if not token or pages > 100:
            return items


results = []
for step in steps:
    args = {k: v for k, v in step.items() if k != "do"}
    try:
        results.append({"ok": True, "value": ACTIONS[step["do"]](**args)})
    except RestException as error:
        results.append(
            {
                "ok": False,
                "status": getattr(error, "_status_code", None) or error.get_http_status_code(),
                "error_code": error.error_code,
                "message": error.message,
            }
        )
    except MlflowException as error:
        results.append({"ok": False, "status": error.get_http_status_code(), "error_code": error.error_code, "message": error.message})
print(json.dumps(results))
