#!/usr/bin/env bash
# The summary report alone, quickly: a throwaway PostgreSQL with the calls and participant intervals
# of scripts/bench-data.sql (BENCH_CALLS calls over 30 days, default 100,000) but no event log, which
# the summary never reads, so it loads in seconds; the rollups recomputed as `calltrail rebuild`
# does; then calltrail (release build) is timed over HTTP with curl for three 30-day ranges.
# The full reporting benchmark is scripts/bench-queries.sh; see BENCHMARKS.md.
#   BENCH_CALLS=100000 BENCH_REQUESTS=60 scripts/bench-summary.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. "$repo/scripts/pg-common.sh"

calls=${BENCH_CALLS:-100000}
requests=${BENCH_REQUESTS:-60}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_find_binaries
pg_ensure_service_user
tmp=$(mktemp -d /tmp/calltrail-bench-summary.XXXXXX)
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
cp "$target_dir/release/calltrail" "$tmp/calltrail"
pg_port=$(free_port)
pg_init_cluster "$tmp/data"
pg_start "$tmp/data" "$pg_port" "$tmp/postgres.log" fsync=off synchronous_commit=off \
  full_page_writes=off shared_buffers=512MB
admin="postgres://postgres@127.0.0.1:$pg_port/postgres"
db="postgres://postgres@127.0.0.1:$pg_port/calltrail"
psql -q "$admin" -c 'CREATE DATABASE calltrail'
DATABASE_URL=$db CALLTRAIL_CONFIG_DIR="$repo/config" CALLTRAIL__LOG__LEVEL=warn "$tmp/calltrail" migrate

# bench-data.sql's call rows and participant intervals, then the rollups.
python3 - "$repo/scripts/bench-data.sql" >"$tmp/data.sql" <<'PY'
import sys
s = open(sys.argv[1]).read()
head = s[:s.index('-- The ten events of each call')]
calls = s[s.index('INSERT INTO calls'):s.index('INSERT INTO participant_changes')]
print(head + calls + "SELECT calltrail_recompute_summary_rollups();\nVACUUM ANALYZE;\n")
PY
log "loading $calls calls and their participant intervals"
psql -q "$db" -v calls="$calls" -f "$tmp/data.sql" >/dev/null

token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
app_port=$(free_port)
CALLTRAIL_CONFIG_DIR="$repo/config" CALLTRAIL_ENVIRONMENT=local DATABASE_URL=$db \
  CALLTRAIL__SERVER__PORT=$app_port CALLTRAIL__LOG__LEVEL=warn CALLTRAIL__API__RATE_LIMIT_PER_SECOND=0 \
  CALLTRAIL__API__TOKENS=$(printf %s "$token" | "$tmp/calltrail" hash-token) \
  "$tmp/calltrail" serve &
app_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$app_port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

at() { psql -tAq "$db" -c "SELECT to_char(($1) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM calls"; }
end=$(at "max(first_event_at)")
from=$(at "max(first_event_at) - interval '30 days'")
day_to=$(at "date_trunc('day', max(first_event_at), 'UTC')")
day_from=$(at "date_trunc('day', max(first_event_at), 'UTC') - interval '30 days'")
# p50 and p99 of `requests` requests after a tenth as many for warm-up, by curl's time_total.
timeit() {
  local warm=$((requests / 10 + 3))
  for _ in $(seq 1 $((requests + warm))); do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $token" "$1"
  done | tail -n "$requests" | sort -n |
    awk '{a[NR] = $1} END {printf "| %d | %.2f | %.2f | %.2f |\n", NR, a[int((NR + 1) / 2)] * 1000, a[int(NR * 0.99 + 0.999)] * 1000, a[NR] * 1000}'
}
base="http://127.0.0.1:$app_port/api/v1/reports/summary"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(postgres --version)"
echo "data: $calls calls, $(psql -tAq "$db" -c 'SELECT count(*) FROM call_participants') participant intervals"
echo "| summary | requests | p50 ms | p99 ms | max ms |"
echo "|---|---:|---:|---:|---:|"
echo "| 30 days to the last call, bucket=day (the first and last day cut) $(timeit "$base?from=$from&to=$end&bucket=day")"
echo "| 30 whole days, bucket=day $(timeit "$base?from=$day_from&to=$day_to&bucket=day")"
echo "| 30 whole days, bucket=hour $(timeit "$base?from=$day_from&to=$day_to&bucket=hour")"
