"""The real MLflow client, pointed at the gateway (in Databricks mode) as tracking AND
registry URI, authenticated with a user's token (MLFLOW_TRACKING_TOKEN).

Usage: python databricks_roundtrip.py <gateway or front door url> track <experiment name>
       python databricks_roundtrip.py <gateway or front door url> register <uc model name> <run id> <source>
       python databricks_roundtrip.py <gateway or front door url> artifacts <run id>
Phase "track" creates an experiment (a plain name or a workspace path) and a run with
params, metrics and tags; the test then
writes the run's model files into the workspace (as a notebook would) and calls phase
"register" with the run id, which registers two versions and sets an alias.
"""

import json
import sys

import mlflow
from mlflow import MlflowClient

url, phase = sys.argv[1], sys.argv[2]
client = MlflowClient(tracking_uri=url, registry_uri=url)

if phase == "track":
    experiment_name = sys.argv[3]
    experiment_id = client.create_experiment(experiment_name)
    mlflow.set_tracking_uri(url)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({"alpha": "0.5", "l1_ratio": "0.1"})
        for step in range(3):
            mlflow.log_metric("rmse", 1.0 - step * 0.1, step=step)
        mlflow.set_tag("stage", "integration")
    fetched = client.get_run(run.info.run_id)
    print(json.dumps({
        "experiment_id": experiment_id,
        "experiment_name": client.get_experiment(experiment_id).name,
        "run_id": run.info.run_id,
        "artifact_uri": fetched.info.artifact_uri,
        "params": fetched.data.params,
        "metrics": fetched.data.metrics,
        "tag": fetched.data.tags.get("stage"),
        "user": fetched.data.tags.get("mlflow.user"),
        "user_id": fetched.info.user_id,
    }))
elif phase == "register":
    model_name, run_id, source = sys.argv[3], sys.argv[4], sys.argv[5]
    client.create_registered_model(model_name, description="registered through the gateway")
    first = client.create_model_version(model_name, source, run_id=run_id)
    second = client.create_model_version(model_name, source, run_id=run_id)
    client.set_registered_model_alias(model_name, "champion", second.version)
    by_alias = client.get_model_version_by_alias(model_name, "champion")
    print(json.dumps({
        "versions": [first.version, second.version],
        "statuses": [client.get_model_version(model_name, v).status for v in (first.version, second.version)],
        "alias_version": by_alias.version,
    }))
elif phase == "artifacts":
    # A text file and a PNG image logged through the app (the client streams them to the gateway).
    import os
    import struct
    import tempfile
    import zlib

    run_id = sys.argv[3]
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "readme.txt"), "w") as f:
        f.write("logged through the app\n")
    width, height = 32, 16
    rows = b"".join(b"\x00" + bytes([200, 40, 40]) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    with open(os.path.join(folder, "plot.png"), "wb") as f:
        f.write(png)
    client.log_artifacts(run_id, folder, artifact_path="through-app")
    print(json.dumps({"listed": sorted(a.path for a in client.list_artifacts(run_id, "through-app"))}))
