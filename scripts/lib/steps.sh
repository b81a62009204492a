# Step lines for the set-up and test scripts: each step says how long it took, and a
# step that fails says which one it was and the command to run again.
# Usage: source it, set RETRY_COMMAND, call `step "what"`, and `steps_done "summary"` at the end.
# Needs `set -E` (errexit's ERR trap must reach functions) in the sourcing script.

STEPS_STARTED=$SECONDS
STEP_NAME=""
STEP_STARTED=$SECONDS
: "${RETRY_COMMAND:=}"

_elapsed() {
  local seconds=$((SECONDS - $1))
  if ((seconds >= 60)); then printf '%d min %d s' $((seconds / 60)) $((seconds % 60)); else printf '%d s' "$seconds"; fi
}

_end_step() {
  if [ -n "$STEP_NAME" ]; then printf '    (%s)\n' "$(_elapsed "$STEP_STARTED")"; fi
  STEP_NAME=""
}

step() {
  _end_step
  STEP_NAME="$*"
  STEP_STARTED=$SECONDS
  printf '\n==> %s\n' "$*"
}

steps_done() {
  _end_step
  printf '\n%s in %s\n' "$*" "$(_elapsed "$STEPS_STARTED")"
}

_step_failed() {
  local status=$1
  # Once is enough: the trap also fires in each shell function the failure unwinds through.
  trap - ERR
  printf '\nFailed%s after %s (exit status %d).\n' "${STEP_NAME:+: $STEP_NAME}" "$(_elapsed "$STEP_STARTED")" "$status" >&2
  if [ -n "$RETRY_COMMAND" ]; then printf 'The output above says why; fix it, then run again: %s\n' "$RETRY_COMMAND" >&2; fi
  exit "$status"
}
trap '_step_failed $?' ERR
