#!/usr/bin/env bash
# Prepares what the SDK tests (tests/api/emulator/sdk.rs) run: a Python virtual environment with the
# pinned official Python SDK under target/sdk/python, and the pinned JavaScript SDK installed from
# tests/sdk/js/package-lock.json. Each is redone only when its pins change, so a rerun takes well
# under a second. scripts/test.sh runs it; so does the test itself. Needs python3 (with venv) and
# npm: without them it fails, and so does the test.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "[calltrail] $*" >&2; }

command -v python3 >/dev/null || { log "python3 is needed for the SDK tests"; exit 1; }
command -v npm >/dev/null || { log "npm (Node.js 20) is needed for the SDK tests"; exit 1; }

# Debian's python3 makes virtual environments only with python3-venv (ensurepip) installed.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  log "installing python3-venv (the SDK tests make a virtual environment)"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "python$version-venv" >/dev/null ||
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
fi

# One process at a time: tests run in parallel and may each call this.
mkdir -p "$repo/target/sdk"
exec 9>"$repo/target/sdk/.lock"
flock 9

venv="$repo/target/sdk/python"
requirements="$repo/tests/sdk/python/requirements.txt"
stamp="$venv/.requirements"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null || [ ! -x "$venv/bin/python" ]; then
  log "making the Python SDK environment in target/sdk/python"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  cp "$requirements" "$stamp"
fi

js="$repo/tests/sdk/js"
lock="$js/package-lock.json"
if ! cmp -s "$lock" "$js/node_modules/.package-lock.json.installed" 2>/dev/null; then
  log "installing the JavaScript SDK in tests/sdk/js/node_modules"
  (cd "$js" && npm ci --silent --no-audit --no-fund)
  cp "$lock" "$js/node_modules/.package-lock.json.installed"
fi
