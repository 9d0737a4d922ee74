#!/usr/bin/env bash
# Reporting-query benchmark: starts a throwaway PostgreSQL, loads synthetic data with SQL
# (BENCH_CALLS calls, default 100,000, ten events each: 1,000,000 events, plus consistent projection
# rows), starts calltrail (release build) and runs the driver (benches/queries.rs), which prints
# p50/p99 per query. Everything is removed afterwards. Rerunnable; see BENCHMARKS.md.
#   BENCH_CALLS=100000 BENCH_ITERATIONS=300 scripts/bench-queries.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. "$repo/scripts/pg-common.sh"

calls=${BENCH_CALLS:-100000}
iterations=${BENCH_ITERATIONS:-300}
target_dir=${CARGO_TARGET_DIR:-$repo/target}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_find_binaries
pg_ensure_service_user

tmp=$(mktemp -d /tmp/calltrail-bench.XXXXXX)
chmod 755 "$tmp"
[ "$(id -u)" -eq 0 ] && chown "$PG_SERVICE_USER" "$tmp"
app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
  pg_stop "$tmp/data"
  rm -rf "$tmp"
}
trap cleanup EXIT

log "building calltrail (release)"
cargo build --release --quiet -p calltrail
# A private copy: another build in the same target directory cannot replace it mid-run.
cp "$target_dir/release/calltrail" "$tmp/calltrail"

# A read benchmark: durability is irrelevant, so the load runs without fsync.
pg_port=$(free_port)
pg_init_cluster "$tmp/data"
pg_start "$tmp/data" "$pg_port" "$tmp/postgres.log" fsync=off synchronous_commit=off \
  full_page_writes=off shared_buffers=512MB maintenance_work_mem=256MB
admin="postgres://postgres@127.0.0.1:$pg_port/postgres"
db="postgres://postgres@127.0.0.1:$pg_port/calltrail"
psql -q "$admin" -c 'CREATE DATABASE calltrail'
DATABASE_URL=$db CALLTRAIL_CONFIG_DIR="$repo/config" CALLTRAIL__LOG__LEVEL=warn "$tmp/calltrail" migrate

log "loading $calls calls ($((calls * 10)) events)"
started=$(date +%s)
psql -q "$db" -v calls="$calls" -f "$repo/scripts/bench-data.sql" >/dev/null
psql -q "$db" -c 'VACUUM ANALYZE' >/dev/null
log "loaded in $(( $(date +%s) - started ))s"

# ---- No request budget for the benchmark's token (the driver and the call page block send faster
# than api.rate_limit_per_second allows, and would be answered 429).
export CALLTRAIL__API__RATE_LIMIT_PER_SECOND=0
# ---- end of the request budget

token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
app_port=$(free_port)
CALLTRAIL_CONFIG_DIR="$repo/config" CALLTRAIL_ENVIRONMENT=local DATABASE_URL=$db \
  CALLTRAIL__SERVER__PORT=$app_port CALLTRAIL__LOG__LEVEL=warn \
  CALLTRAIL__API__TOKENS=$(printf %s "$token" | "$tmp/calltrail" hash-token) \
  "$tmp/calltrail" serve &
app_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$app_port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB memory, $(postgres --version)"
echo "data: $calls calls, $(psql -tAq "$db" -c 'SELECT count(*) FROM events') events"
CALLTRAIL_BENCH_URL="http://127.0.0.1:$app_port" CALLTRAIL_BENCH_TOKEN=$token \
  CALLTRAIL_BENCH_CALLS=$calls CALLTRAIL_BENCH_ITERATIONS=$iterations \
  cargo bench --quiet -p calltrail --bench queries

# ---- The dashboard's call page (a 100-participant, 2,000-event call; scripts/bench-call-page.sh).
# Kept apart from the API queries above: it delivers its call through the callback route once the
# data is loaded, then times the page. BENCH_CALL_PAGE=0 skips it.
if [ "${BENCH_CALL_PAGE:-1}" != 0 ]; then
  echo
  "$repo/scripts/bench-call-page.sh" "http://127.0.0.1:$app_port" "$token" local-dev-secret \
    "${BENCH_CALL_PAGE_ITERATIONS:-100}"
fi
# ---- end of the dashboard's call page
