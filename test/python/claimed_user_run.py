"""Create a run while claiming to be someone else; print who MLflow recorded.

Usage: python claimed_user_run.py <tracking uri> <claimed user>
The MLflow client takes the user from the environment (getpass), so USER/LOGNAME are
set to the claimed name, and the tag and user_id are also sent explicitly.
"""

import json
import os
import sys

tracking_uri, claimed = sys.argv[1], sys.argv[2]
os.environ["USER"] = os.environ["LOGNAME"] = claimed

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

mlflow.set_tracking_uri(tracking_uri)
client = MlflowClient(tracking_uri)
experiment_id = client.create_experiment(f"claimed-user-{os.getpid()}")
run = client.create_run(experiment_id, tags={"mlflow.user": claimed})
client.set_tag(run.info.run_id, "mlflow.user", claimed)
with mlflow.start_run(experiment_id=experiment_id) as fluent:
    mlflow.log_param("p", "1")
recorded = client.get_run(run.info.run_id)
recorded_fluent = client.get_run(fluent.info.run_id)
print(json.dumps({
    "user_id": recorded.info.user_id,
    "tag": recorded.data.tags.get("mlflow.user"),
    "fluent_user_id": recorded_fluent.info.user_id,
    "fluent_tag": recorded_fluent.data.tags.get("mlflow.user"),
}))
