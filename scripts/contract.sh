#!/usr/bin/env bash
# The reporting API's contract check: an OpenAPI-driven fuzzer (schemathesis, pinned) runs every
# check it has against the real service, started on a free port against a database holding a few
# signed calls, with the document the service serves at /api/v1/openapi.json. Any failure fails the
# script.
#
#   scripts/contract.sh          the short form (CI: a few examples per operation, about a minute)
#   scripts/contract.sh long     the long form (many examples per operation, stateful links too)
#   scripts/contract.sh long --seed 7     further arguments go to `schemathesis run`
#
# Uses DATABASE_URL's server when set (a fresh database is created in it, as scripts/test.sh's
# cluster is used); otherwise starts a throwaway PostgreSQL of its own and removes it afterwards.
# The Python virtual environment is kept in target/contract-venv and reused while its pinned
# version is the one below.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. "$repo/scripts/pg-common.sh"

SCHEMATHESIS_VERSION=4.32.5
form=short
if [ $# -gt 0 ] && { [ "$1" = short ] || [ "$1" = long ]; }; then
  form=$1
  shift
fi

venv="$repo/target/contract-venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  log "making the Python environment for schemathesis $SCHEMATHESIS_VERSION in target/contract-venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's Python keeps venv (ensurepip) in a package of its own.
    rm -rf "$venv"
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    pyver=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "python$pyver-venv" >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

work=$(mktemp -d /tmp/calltrail-contract.XXXXXX)
chmod 755 "$work"
server_pid=""
own_cluster=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [ -n "$own_cluster" ] && pg_stop "$work/data"
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_find_binaries
if [ -z "${DATABASE_URL:-}" ]; then
  pg_ensure_service_user
  [ "$(id -u)" -eq 0 ] && chown "$PG_SERVICE_USER" "$work"
  pg_port=$(free_port)
  pg_init_cluster "$work/data"
  pg_start "$work/data" "$pg_port" "$work/postgres.log" fsync=off full_page_writes=off
  own_cluster=1
  admin_url="postgres://postgres@127.0.0.1:$pg_port/postgres"
else
  admin_url=$DATABASE_URL
fi
# A database of its own, so that the calls loaded below are all it holds.
database="calltrail_contract_$$_$(date +%s)"
psql -q "$admin_url" -c "CREATE DATABASE $database" >/dev/null
export CALLTRAIL__DATABASE__URL="${admin_url%/*}/$database"

log "building calltrail and the load generator"
cargo build --quiet -p calltrail -p calltrail-loadgen --bins

# The service as deployed, but for what the run needs: a random API token, a Standard Webhooks
# secret for the loader, and no per-token rate limit (the fuzzer sends hundreds of requests a
# second; the limit's 429 has tests of its own and is in the document).
token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
whsec="whsec_$(python3 -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(24)).decode())')"
port=$(free_port)
export CALLTRAIL_ENVIRONMENT=production
export CALLTRAIL__SERVER__PORT=$port
export CALLTRAIL__SERVER__HOST=127.0.0.1
export CALLTRAIL__API__TOKENS=$(printf %s "$token" | "$repo/target/debug/calltrail" hash-token)
export CALLTRAIL__API__RATE_LIMIT_PER_SECOND=0
export CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__ENABLED=true
export CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__SECRETS=$whsec
export CALLTRAIL__LOG__LEVEL=warn
"$repo/target/debug/calltrail" serve >"$work/calltrail.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { tail -n 30 "$work/calltrail.log" >&2; exit 1; }
  sleep 0.1
done

# Whole calls in the three wire formats, signed, so that every reporting route has rows to
# return (the projector derives the call model from them).
log "loading signed calls"
"$repo/target/debug/calltrail-loadgen" run --url "http://127.0.0.1:$port/api/callbacks" \
  --label contract --senders 2 --threads 1 --warmup-secs 0 --duration-secs 10 --max-events 400 \
  --duplicate-percent 0 --secret "$whsec" >"$work/load.log" 2>&1 || {
  tail -n 30 "$work/load.log" >&2
  exit 1
}
sleep 1

case $form in
  short) examples=(--max-examples 10 --phases examples,coverage,fuzzing) ;;
  long) examples=(--max-examples 500) ;;
esac
log "schemathesis $SCHEMATHESIS_VERSION ($form form) against 127.0.0.1:$port"
status=0
# From the scratch folder: schemathesis keeps a cache of past failures in the working directory,
# which would make a run depend on the ones before it.
(
  cd "$work"
  CONTRACT_BASE_URL="http://127.0.0.1:$port" CONTRACT_TOKEN=$token \
    PYTHONPATH="$repo/scripts" SCHEMATHESIS_HOOKS=contract_hooks \
    "$venv/bin/schemathesis" run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --url "http://127.0.0.1:$port" --checks all -H "Authorization: Bearer $token" \
    --seed 1 --no-color --generation-database none "${examples[@]}" "$@"
) || status=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
  log "calltrail stopped during the run; its log:"
  tail -n 50 "$work/calltrail.log" >&2
  status=1
fi
exit "$status"
