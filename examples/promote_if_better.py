"""A CI quality gate: register a candidate model and move an alias to it only if it beats
the model that holds the alias now.

Usage: python examples/promote_if_better.py <model name> <candidate> [--metric accuracy]
           [--alias champion] [--lower-is-better]

<candidate> is a logged model (models:/m-..., or m-...) or the run that logged one.
<model name> is plain locally, catalog.schema.model on Databricks (Unity Catalog).
MLFLOW_TRACKING_URI is the app's URL (default http://localhost:8000); the registry is the same URL.

Exit codes: 0 promoted (prints one JSON line), 3 refused by the gate (nothing registered),
anything else an error.
"""

import argparse
import json
import os
import sys

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

# Not 1 (a Python error) nor 2 (bad usage): a CI step can tell a refused candidate from a broken run.
REFUSED = 3

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("model_name")
parser.add_argument("candidate")
parser.add_argument("--metric", default="accuracy")
parser.add_argument("--alias", default="champion")
parser.add_argument("--lower-is-better", action="store_true", help="for losses and errors")
args = parser.parse_args()

app_url = os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:8000")
mlflow.set_tracking_uri(app_url)
# The app serves the registry too (Unity Catalog behind it on Databricks). Without this, MLflow
# would pick its default registry, which inside a Databricks job is the workspace, not the app.
mlflow.set_registry_uri(os.environ.get("MLFLOW_REGISTRY_URI", app_url))
client = MlflowClient()


def resolve(candidate):
    """(logged model id, run id) for a models:/m-... URI, a model id or a run id."""
    model_id = candidate.removeprefix("models:/")
    if model_id.startswith("m-"):
        return model_id, client.get_logged_model(model_id).source_run_id
    models = [output.model_id for output in client.get_run(candidate).outputs.model_outputs]
    if len(models) != 1:
        sys.exit(f"run {candidate} logged {len(models)} models ({', '.join(models) or 'none'}); name one as models:/m-...")
    return models[0], candidate


def metric_of(run_id, what):
    # The run's latest value: train_and_log.py logs the final score as the last step.
    value = client.get_run(run_id).data.metrics.get(args.metric)
    if value is None:
        sys.exit(f"{what} (run {run_id}) has no metric {args.metric!r}; cannot compare.")
    return value


def alias_holder():
    try:
        version = client.get_registered_model(args.model_name).aliases.get(args.alias)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None  # first promotion: the model is created below
        raise
    if version is None:
        return None  # the model exists, but nothing holds the alias yet
    return client.get_model_version(args.model_name, version)


model_id, run_id = resolve(args.candidate)
candidate_value = metric_of(run_id, f"candidate {model_id}")
holder = alias_holder()
previous = None
if holder is not None:
    previous = {"version": holder.version, args.metric: metric_of(holder.run_id, f"{args.alias} version {holder.version}")}
    better = candidate_value < previous[args.metric] if args.lower_is_better else candidate_value > previous[args.metric]
    if not better:
        print(
            f"refused: candidate {model_id} has {args.metric}={candidate_value}, not better than "
            f"{args.model_name}@{args.alias} (version {holder.version}) with {args.metric}={previous[args.metric]}; nothing registered.",
            file=sys.stderr,
        )
        sys.exit(REFUSED)

# MLflow 3: register the logged model itself (models:/<model id>), not a run's artifact path.
version = mlflow.register_model(f"models:/{model_id}", args.model_name)
client.set_registered_model_alias(args.model_name, args.alias, version.version)
print(
    json.dumps({
        "model_name": args.model_name,
        "alias": args.alias,
        "version": version.version,
        "model_id": model_id,
        args.metric: candidate_value,
        "previous": previous,
    })
)
