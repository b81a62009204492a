"""Seeds what a team's MLflow holds after a few days of work, through the app, with the
real MLflow client: the data the page-by-page UI walk (test/browser/ui-pages.ts) looks for.

Usage: python ui_seed.py <app url> <experiment name> <registered model name> <prompt name>
Authenticates with MLFLOW_TRACKING_TOKEN when set (Databricks mode, through the front door).

Writes: three runs (params, metrics over several steps, tags, a text, an image, a CSV and
an MLflow table artifact), an sklearn model logged with log_model (a logged model with a
signature), registered twice with the alias "champion" and tags, a trace from
@mlflow.trace, an evaluation run (mlflow.genai.evaluate with a code scorer), a prompt and an
evaluation dataset.
Each optional feature reports what the app answered instead of stopping the seed, so the
walk can say which pages have their data. Prints one JSON line.
"""

import json
import os
import struct
import sys
import tempfile
import zlib

import mlflow
from mlflow import MlflowClient

url, experiment_name, model_name, prompt_name = sys.argv[1:5]
mlflow.set_tracking_uri(url)
mlflow.set_registry_uri(url)
client = MlflowClient(tracking_uri=url, registry_uri=url)
out = {}


def png(width, height, rgb):
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


experiment_id = client.create_experiment(experiment_name, tags={"team": "forecasting"})
mlflow.set_experiment(experiment_id=experiment_id)
out["experiment_id"] = experiment_id
out["experiment_name"] = client.get_experiment(experiment_id).name

runs = {}
for name, alpha, l1, slope in (("baseline", 1.0, 0.0, 0.05), ("tuned-a", 0.5, 0.1, 0.08), ("tuned-b", 0.1, 0.5, 0.07)):
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params({"alpha": alpha, "l1_ratio": l1, "optimizer": "adam"})
        for step in range(8):
            mlflow.log_metrics({"rmse": round(1.0 - slope * step, 4), "mae": round(0.8 - slope * step * 0.7, 4)}, step=step)
        mlflow.set_tags({"team": "forecasting", "sweep": "no" if name == "baseline" else "yes"})
        # Every run has a file in common, as a team's runs do (the comparison page shows common files).
        mlflow.log_text(f"alpha={alpha}, l1_ratio={l1}\n", "summary.txt")
        runs[name] = run.info.run_id
out["runs"] = runs

# Artifacts of the baseline run: the previews the run page offers.
baseline = runs["baseline"]
folder = tempfile.mkdtemp()
os.makedirs(os.path.join(folder, "notes"))
os.makedirs(os.path.join(folder, "plots"))
os.makedirs(os.path.join(folder, "tables"))
with open(os.path.join(folder, "notes", "readme.txt"), "w") as f:
    f.write("Baseline model trained on the March snapshot.\n")
with open(os.path.join(folder, "plots", "residuals.png"), "wb") as f:
    f.write(png(48, 24, (40, 120, 200)))
with open(os.path.join(folder, "tables", "predictions.csv"), "w") as f:
    f.write("store,week,predicted_sales\nnorth,1,1020\nsouth,1,980\n")
client.log_artifacts(baseline, folder)
client.log_table(baseline, {"question": ["What is MLflow?"], "answer": ["An open-source ML platform"]}, "eval_table.json")

# A logged model (MLflow 3) with a signature, registered twice; alias and tags on the registry.
import numpy as np
from sklearn.linear_model import LinearRegression

features = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 4.0]])
regressor = LinearRegression().fit(features, np.array([3.0, 3.0, 7.0]))
with mlflow.start_run(run_id=baseline):
    info = mlflow.sklearn.log_model(regressor, name="model", input_example=features[:1])
out["logged_model_id"] = info.model_id
first = mlflow.register_model(info.model_uri, model_name)
second = mlflow.register_model(info.model_uri, model_name)
client.set_registered_model_alias(model_name, "champion", second.version)
client.set_registered_model_tag(model_name, "owner", "forecasting")
client.set_model_version_tag(model_name, second.version, "validated", "true")
out["model_versions"] = [first.version, second.version]


@mlflow.trace(name="answer_question")
def answer(question):
    with mlflow.start_span(name="retrieve") as span:
        span.set_inputs({"question": question})
        span.set_outputs({"documents": ["mlflow-docs"]})
    return "MLflow tracks experiments"


def attempt(key, fn):
    try:
        out[key] = fn()
    except Exception as e:  # noqa: BLE001 - the walk reports what the app answered
        out[key] = {"error": f"{type(e).__name__}: {str(e)[:300]}"}


answer("What does MLflow do?")
mlflow.flush_trace_async_logging()


def read_traces():
    # Read back as a client would: the spans come from the trace's data, not only its info.
    traces = mlflow.search_traces(locations=[experiment_id], return_type="list")
    assert all(len(t.data.spans) == 2 for t in traces), [len(t.data.spans) for t in traces]
    return [t.info.trace_id for t in traces]


attempt("trace_ids", read_traces)


def evaluate():
    from mlflow.genai.scorers import scorer

    @scorer
    def exact_match(outputs, expectations):
        return outputs == expectations["expected_response"]

    data = [{"inputs": {"question": "What does MLflow do?"}, "expectations": {"expected_response": "MLflow tracks experiments"}}]
    with mlflow.start_run(run_name="evaluation") as run:
        mlflow.genai.evaluate(data=data, predict_fn=lambda question: answer(question), scorers=[exact_match])
    return run.info.run_id


attempt("evaluation_run_id", evaluate)


def prompt():
    registered = mlflow.genai.register_prompt(name=prompt_name, template="Answer briefly: {{question}}", commit_message="first")
    return str(registered.version)


attempt("prompt_version", prompt)


def dataset():
    from mlflow.genai.datasets import create_dataset

    created = create_dataset(name="qa-golden-set", experiment_id=experiment_id)
    created.merge_records([{"inputs": {"question": "What does MLflow do?"}, "expectations": {"expected_response": "MLflow tracks experiments"}}])
    return created.dataset_id


attempt("dataset_id", dataset)
print(json.dumps(out))
