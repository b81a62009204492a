#!/usr/bin/env bash
# Regenerates src/routes/mlflow-routes.json from the installed MLflow. Run it after
# changing the mlflow pin in requirements.txt; the test suite fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHONWARNINGS=ignore .venv/bin/python scripts/dump-mlflow-routes.py > src/routes/mlflow-routes.json.tmp
mv src/routes/mlflow-routes.json.tmp src/routes/mlflow-routes.json
echo "src/routes/mlflow-routes.json: $(grep -c '"operation"' src/routes/mlflow-routes.json) routes"
