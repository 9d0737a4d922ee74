#!/usr/bin/env bash
# Starts (or reuses) the local development PostgreSQL cluster and prints its DATABASE_URL.
# Data is kept under .data/ (git-ignored) and the server listens on 127.0.0.1:${CALLTRAIL_DEV_PG_PORT:-54329}.
#   scripts/dev-postgres.sh          start or reuse, print the URL
#   scripts/dev-postgres.sh stop     stop it
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/pg-common.sh"

port=${CALLTRAIL_DEV_PG_PORT:-54329}
pg_find_binaries
pg_ensure_service_user
data=$(pg_local_data_dir "$repo")

if [ "${1:-}" = "stop" ]; then
  pg_stop "$data"
  log "development PostgreSQL stopped"
  exit 0
fi

if [ ! -f "$data/PG_VERSION" ]; then
  log "creating the development PostgreSQL cluster in $data"
  pg_init_cluster "$data"
fi
if ! pg_is_running "$data"; then
  log "starting the development PostgreSQL on 127.0.0.1:$port"
  pg_start "$data" "$port" "$data/../postgres.log"
fi
url="postgres://postgres@127.0.0.1:$port/postgres"
if ! psql "$url" -tAc "select 1 from pg_database where datname='calltrail'" | grep -q 1; then
  psql "$url" -qc "create database calltrail" >/dev/null
fi
printf 'postgres://postgres@127.0.0.1:%s/calltrail\n' "$port"
