#!/usr/bin/env bash
# Runs the whole test suite against a throwaway PostgreSQL cluster that it creates, and removes
# afterwards, with a streaming replica of it (the read replica tests: REPLICA_DATABASE_URL). With arguments, runs `cargo test <arguments>` instead of every target of every
# workspace member (e.g. scripts/test.sh --test api ingest::).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. "$repo/scripts/pg-common.sh"

pg_find_binaries
pg_ensure_service_user

# A test runs the emulator's signing script (scripts/emulator-request.sh), which needs curl and
# openssl; the dashboard's browser tests drive Chromium through chromedriver. Install Debian's
# packages when they are missing (without recommends: Chromium's pull in printing and network
# discovery, a minute more for nothing a headless test uses).
missing=""
for tool in curl:curl openssl:openssl chromium:chromium chromedriver:chromium-driver; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
if [ -n "$missing" ]; then
  log "installing$missing (the emulator's signing script and the browser tests need them)"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The SDK tests drive the emulator with the official Python and JavaScript SDKs, pinned: their
# environments are made (or found up to date) before the tests run.
"$repo/scripts/sdk-env.sh"

tmp=$(mktemp -d /tmp/calltrail-test-pg.XXXXXX)
chmod 755 "$tmp"
[ "$(id -u)" -eq 0 ] && chown "$PG_SERVICE_USER" "$tmp"
cleanup() {
  pg_stop "$tmp/replica"
  pg_stop "$tmp/data"
  rm -rf "$tmp"
}
trap cleanup EXIT

# A free port: ask the kernel for one.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 54399)
pg_init_cluster "$tmp/data"
# Durability settings are relaxed only for this throwaway cluster: tests check behaviour, not fsync.
pg_start "$tmp/data" "$port" "$tmp/postgres.log" fsync=off full_page_writes=off
export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
log "throwaway PostgreSQL on 127.0.0.1:$port"
# Its streaming replica: every database a test creates on the primary appears there too, under the
# same name.
replica_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 54398)
pg_start_replica "$port" "$tmp/replica" "$replica_port" "$tmp/replica.log" fsync=off
export REPLICA_DATABASE_URL="postgres://postgres@127.0.0.1:$replica_port/postgres"
log "its streaming replica on 127.0.0.1:$replica_port"

if [ $# -gt 0 ]; then
  cargo test "$@"
else
  cargo test --workspace --all-targets
  # Doc tests are not part of --all-targets.
  cargo test --workspace --doc --quiet
  # The reporting API against its OpenAPI document, short form (scripts/contract.sh long for more).
  "$repo/scripts/contract.sh" short
fi
