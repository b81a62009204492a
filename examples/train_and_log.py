"""Train a small classifier and log it to MLflow through the gateway.

Usage: python examples/train_and_log.py <experiment name> [--C 1.0]

MLFLOW_TRACKING_URI is the app's URL (default: the local gateway, http://localhost:8000);
on Databricks Apps MLFLOW_TRACKING_TOKEN carries your OAuth token (see examples/README.md).
Prints one JSON line: {"run_id", "model_id", "accuracy"}.
"""

import argparse
import json
import os

import mlflow
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("experiment")
parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength; small values underfit")
args = parser.parse_args()

# Set explicitly: without it, MLflow writes to a local database (sqlite:///mlflow.db), not the app.
mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:8000"))
mlflow.set_experiment(args.experiment)

# Bundled with scikit-learn: nothing to download.
features, labels = load_wine(return_X_y=True, as_frame=True)
x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.3, random_state=0, stratify=labels)

with mlflow.start_run() as run:
    mlflow.log_params({"C": args.C, "dataset": "sklearn wine", "train_rows": len(x_train)})
    # A learning curve as the metric's history: test accuracy with a growing share of the
    # training data. The last step trains on all of it: that is the model logged below.
    for step, fraction in enumerate((0.25, 0.5, 0.75, 1.0)):
        rows = int(len(x_train) * fraction)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=1000)).fit(x_train[:rows], y_train[:rows])
        accuracy = model.score(x_test, y_test)
        mlflow.log_metric("accuracy", accuracy, step=step)

    mlflow.log_text(classification_report(y_test, model.predict(x_test)), "classification_report.txt")
    # MLflow 3: `name=` (not artifact_path) creates a logged model with its own id, and `step=`
    # links the run's metrics of that step (the final accuracy) to it; the default, step 0, would
    # link the curve's first point. The input example gives the model a signature, which Unity
    # Catalog requires for registration.
    info = mlflow.sklearn.log_model(model, name="model", input_example=x_test[:3], step=step)

print(json.dumps({"run_id": run.info.run_id, "model_id": info.model_id, "accuracy": accuracy}))
