#!/usr/bin/env bash
# The README's "run it locally" command: install what is missing, then start the
# gateway with the embedded default (SQLite and artifacts under .data/) on port 8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\n==> Starting the gateway: open http://localhost:%s once MLflow is ready (Ctrl-C stops it)\n\n' "${DATABRICKS_APP_PORT:-${PORT:-8000}}"
exec node dist/main.js
