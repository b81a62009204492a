#!/usr/bin/env bash
# A review of the audit trail: check that it is complete and unaltered, then list what one
# person created, registered, promoted or deleted, and the calls the gateway refused them.
#
# Usage: examples/review_audit.sh <audit folder or /Volumes/... path> <person>
#   person: e-mail, user name or subject ("alice" also matches alice@...); locally: local-developer
#
# The digest key is read from GATEWAY_AUDIT_HMAC_KEY (on Databricks: the app's secret). A local
# gateway keeps its key in <audit folder>/hmac.key, used when the variable is unset. The key is
# never printed.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <audit folder or /Volumes/... path> <person>" >&2
  exit 2
fi
trail=$1
person=$2
# `npm run audit` runs from the checkout; a relative folder must keep meaning the caller's one.
if [[ -d $trail ]]; then trail=$(cd "$trail" && pwd); fi
cd "$(dirname "$0")/.."

if [[ -z ${GATEWAY_AUDIT_HMAC_KEY:-} && -f $trail/hmac.key ]]; then
  GATEWAY_AUDIT_HMAC_KEY=$(<"$trail/hmac.key")
  export GATEWAY_AUDIT_HMAC_KEY
fi

echo "== Is the trail complete and unaltered?"
# set -e stops the review here when verify finds a problem (exit 1): search reads the files
# as they are and proves nothing about them.
npm run --silent audit -- verify "$trail"

# Writes that a model review asks about. Add LogBatch,LogMetric,LogParam,SetTag,UploadArtifact
# to see every value and file logged too (one line each: many).
writes=CreateExperiment,DeleteExperiment,CreateRun,DeleteRun,CreateLoggedModel,DeleteLoggedModel
writes+=,CreateRegisteredModel,DeleteRegisteredModel,CreateModelVersion,DeleteModelVersion
writes+=,SetRegisteredModelAlias,DeleteRegisteredModelAlias

echo
echo "== Created, registered, promoted or deleted by $person"
npm run --silent audit -- search "$trail" --person "$person" --action "$writes"

echo
echo "== Calls refused to $person"
npm run --silent audit -- search "$trail" --person "$person" --outcome deny
