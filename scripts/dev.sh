#!/usr/bin/env bash
# The README's "run it locally" command: install what is missing, then start the
# gateway with the embedded default (SQLite and artifacts under .data/) on port 8000.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_RETRY_COMMAND="npm run local" bash scripts/setup.sh
printf '\n==> Starting the gateway on port %s: MLflow takes 10-30 s to start; the "Ready" line says when to open the UI\n\n' "${DATABRICKS_APP_PORT:-${PORT:-8000}}"
exec node dist/main.js
