#!/usr/bin/env bash
# Installs whatever is missing, and only that: npm packages, the Python virtualenv
# (.venv) from requirements.txt, Chromium for the browser tests (--with-browser), the
# test-only Python packages of test/requirements.txt and jq (--with-test-deps), and the build. Safe to run again: each step checks before it installs.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
# What to tell a user to run after a failure: the command they typed (npm run local and
# npm test set it), else this script with its options.
RETRY_COMMAND="${SETUP_RETRY_COMMAND:-bash scripts/setup.sh${*:+ $*}}"
source scripts/lib/steps.sh

WITH_BROWSER=0
WITH_TEST_DEPS=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) WITH_BROWSER=1 ;;
    --with-test-deps) WITH_TEST_DEPS=1 ;;
    *) echo "setup.sh: unknown option '$arg' (known: --with-browser, --with-test-deps)" >&2; exit 2 ;;
  esac
done

fail() {
  trap - ERR
  printf '\nSet-up failed%s: %s\nThen run again: %s\n' "${STEP_NAME:+ ($STEP_NAME)}" "$*" "$RETRY_COMMAND" >&2
  exit 1
}

# Node.js >= 20.9 (Databricks Apps runs 22).
command -v node >/dev/null || fail "Node.js is not installed. Install Node.js 20 or 22 from your package manager or nodejs.org."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=9)?0:1)' \
  || fail "Node.js $(node --version) is too old; this project needs 20.9 or newer."

# npm packages: reinstall when the lock file is newer than the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "Installing npm packages"
  npm ci --no-audit --no-fund
fi

# apt_install <package> <label> <message>: Debian's package when running as root with apt-get;
# otherwise stop with <message>, which says how to install it by hand.
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "Installing $2 (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    fail "$3"
  fi
}

# Python packages go in with uv (from PyPI, installed into .venv first): it installs MLflow's
# ~200 dependencies in seconds where pip takes minutes. Should uv be unusable here (a
# registry mirror it cannot reach, say), pip does the same job, only slower.
UV_VERSION=0.13.9
py_install() {
  if [ -x .venv/bin/uv ] || { echo "Installing uv $UV_VERSION (a fast installer for Python packages) with pip"; .venv/bin/pip install --disable-pip-version-check --quiet "uv==$UV_VERSION"; }; then
    # The system's CA store and any local wheel folder, as pip is configured to use them;
    # bytecode compiled now, as pip does, so the first `mlflow server` start is not slower.
    if .venv/bin/uv pip install --system-certs --compile-bytecode ${PIP_FIND_LINKS:+--find-links "$PIP_FIND_LINKS"} --python .venv/bin/python "$@"; then
      return 0
    fi
    echo "uv could not install $*; trying pip (slower; it prints each package as it goes)" >&2
  fi
  # Not --quiet: pip shows each package and its download progress, so a long install never looks hung.
  .venv/bin/pip install --disable-pip-version-check "$@"
}

# Python virtualenv with the pinned mlflow; rebuilt when requirements.txt changes.
PYTHON="${PYTHON:-python3}"
REQUIREMENTS_HASH="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ ! -x .venv/bin/mlflow ] || [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$REQUIREMENTS_HASH" ]; then
  command -v "$PYTHON" >/dev/null || fail "$PYTHON is not installed. Install Python 3.10+ (with venv), or set PYTHON=/path/to/python3."
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || fail "$PYTHON is older than 3.10, which mlflow needs."
  step "Creating .venv with $(grep -v '^#' requirements.txt | tr '\n' ' ')(first time: about a minute)"
  [ -d .venv ] || "$PYTHON" -m venv .venv || fail "could not create a virtualenv; on Debian/Ubuntu: apt-get install python3-venv"
  py_install -r requirements.txt || fail "could not install requirements.txt into .venv"
  echo "$REQUIREMENTS_HASH" > .venv/.requirements.sha256
fi

# Test-only Python packages (storage servers the emulator starts), into the same .venv.
if [ "$WITH_TEST_DEPS" = 1 ]; then
  TEST_REQUIREMENTS_HASH="$(cat requirements.txt test/requirements.txt | sha256sum | cut -d' ' -f1)"
  if [ "$(cat .venv/.test-requirements.sha256 2>/dev/null)" != "$TEST_REQUIREMENTS_HASH" ]; then
    step "Installing the test-only Python packages ($(grep -v '^#' test/requirements.txt | tr '\n' ' '))"
    py_install -r test/requirements.txt || fail "could not install test/requirements.txt into .venv"
    echo "$TEST_REQUIREMENTS_HASH" > .venv/.test-requirements.sha256
  fi
  # jq: docs/operations.md's log queries use it, and its test runs them (Debian's package).
  if ! command -v jq >/dev/null; then
    apt_install jq "jq" "jq is missing. Install it with 'sudo apt-get install jq' (or 'brew install jq')."
  fi
  # Test-only npm tools (Azurite), kept apart so a Databricks Apps deploy never installs them.
  if [ ! -f test/tools/node_modules/.package-lock.json ] || [ test/tools/package-lock.json -nt test/tools/node_modules/.package-lock.json ]; then
    step "Installing the test-only npm tools (test/tools: Azurite)"
    npm ci --prefix test/tools --no-audit --no-fund || fail "npm could not install test/tools"
  fi
fi

# Chromium for the UI tests (Debian's package; Playwright drives it, nothing is downloaded).
if [ "$WITH_BROWSER" = 1 ] && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  apt_install chromium "Chromium" "Chromium is missing. Install it with 'sudo apt-get install chromium', or set CHROMIUM_PATH to a Chromium binary."
fi

step "Building"
npm run --silent build
steps_done "Set-up done"
