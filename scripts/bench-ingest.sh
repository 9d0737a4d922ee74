#!/usr/bin/env bash
# Ingest benchmark, one command: starts a throwaway PostgreSQL with durable settings, builds release,
# and in one run measures the bare actix-web ceiling, calltrail committing each request alone, calltrail
# with group commit, and calltrail overloaded; then prints the table and the goal's ratios.
#
# Adjust with the environment (defaults in brackets):
#   BENCH_DURATION [20]        seconds measured per run, after BENCH_WARMUP [3] seconds of warm-up
#   BENCH_SENDERS [64]         concurrent senders
#   BENCH_OPEN_CALLS [1]       calls each sender keeps open, sending their POSTs in turn: 16 spreads
#                              each call's POSTs over seconds, as real calls are, so the call model
#                              sees each call over many passes (1: each call's POSTs back to back)
#   BENCH_RUNS [bare per-request group overload index-cost]   which runs, in order; index-cost
#                              measures, on the group run's events, what each index and the
#                              compression cost PostgreSQL per event (scripts/bench-index-cost.sql);
#                              catch-up (not in the default) ingests with the projector off, then
#                              starts calltrail again with it on and times how fast it projects
#                              that backlog from the database, alone on the machine;
#                              db-ceiling (not in the default; needs group and pgbench) replays
#                              the ingest statement with pgbench on the group run's events once
#                              calltrail has stopped, as deployed and without parts of what it
#                              stores: what PostgreSQL alone, with the whole machine, can store
#                              multi (not in the default) is the group run with BENCH_INSTANCES
#                              [3] calltrail instances on one database, the senders spread across
#                              them and every re-sent delivery sent to another instance; its
#                              PostgreSQL CPU per event is compared with the group run's;
#                              BENCH_MULTI_WRITERS [the configured 4] sets each instance's
#                              ingest.writers in that run only
#   BENCH_DB_CEILING_SECS [10], BENCH_DB_CEILING_BATCHES [22 100], BENCH_DB_CEILING_EVENTS [20000]
#       the db-ceiling run: seconds per variant and batch size, events per statement (22 is the
#       group run's mean batch at 64 senders), and how many of the group run's events it replays
#   BENCH_OVERLOAD_SENDERS [512], BENCH_OVERLOAD_QUEUE [128], BENCH_OVERLOAD_DURATION [10]
#       the overload run: more senders than the ingest queue holds, so it stays full
#   BENCH_PREFILL_CALLS [0]    calls (ten events each, over the last 30 days) loaded into each
#                              calltrail run's database before it starts (scripts/bench-data.sql):
#                              100000 gives a million events, the event log of a busy month, so
#                              inserts pay for indexes of that size instead of empty ones
#   BENCH_SETUP_SQL [none]     SQL run on each calltrail run's database once it is migrated, e.g.
#                              'DROP INDEX events_operation_context' to measure what an index costs
#   BENCH_PROFILE [0]          1: sample every process's CPU (perf) during the group run
#   BENCH_FLAMEGRAPH [0]       1: record calltrail's call stacks for up to 8 s of the group run
#                              (perf, DWARF unwinding) and write calltrail.folded (folded stacks),
#                              calltrail.svg when inferno-flamegraph is installed (`cargo install
#                              inferno`), and calltrail-breakdown.txt: its CPU by task, and within
#                              the HTTP workers by stage of a request (scripts/perf-breakdown.py)
#   BENCH_STATEMENTS [0]       1: load pg_stat_statements and print, after the group run, the
#                              statements that took PostgreSQL's time (total, per call, per row),
#                              and the WAL flushes (how many, how long each: track_wal_io_timing)
#   BENCH_WAL [0]              1: after the group run, what its WAL holds (wal-stats.txt): bytes
#                              by record type and full-page images (pg_waldump --stats=record),
#                              the average event row and its raw element, and bytes per event by
#                              the table or index each record changes
#   BENCH_PG_SETTINGS [none]   extra PostgreSQL settings, space-separated name=value, for diagnosis
#                              only (e.g. synchronous_commit=off); the goal's figures use none
#   BENCH_OUT [.data/bench]    where the results, logs and profile go (git-ignored)
#   CALLTRAIL__*               applied to every calltrail run (e.g. CALLTRAIL__INGEST__WRITERS=4)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. "$repo/scripts/pg-common.sh"

duration=${BENCH_DURATION:-20}
warmup=${BENCH_WARMUP:-3}
senders=${BENCH_SENDERS:-64}
open_calls=${BENCH_OPEN_CALLS:-1}
prefill_calls=${BENCH_PREFILL_CALLS:-0}
runs=${BENCH_RUNS:-bare per-request group overload index-cost}
overload_senders=${BENCH_OVERLOAD_SENDERS:-512}
overload_queue=${BENCH_OVERLOAD_QUEUE:-128}
overload_duration=${BENCH_OVERLOAD_DURATION:-10}
profile=${BENCH_PROFILE:-0}
flamegraph=${BENCH_FLAMEGRAPH:-0}
statements=${BENCH_STATEMENTS:-0}
wal_stats=${BENCH_WAL:-0}
out=${BENCH_OUT:-$repo/.data/bench}
mkdir -p "$out"
results="$out/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
rm -f "$out/catch-up.txt" "$out/db-ceiling.txt"

pg_find_binaries
pg_ensure_service_user

log "building release binaries"
cargo build --release --quiet -p calltrail -p calltrail-loadgen --bins
bin="${CARGO_TARGET_DIR:-$repo/target}/release"

tmp=$(mktemp -d /tmp/calltrail-bench.XXXXXX)
chmod 755 "$tmp"
[ "$(id -u)" -eq 0 ] && chown "$PG_SERVICE_USER" "$tmp"
server_pid=""
multi_pids=()
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  stop_multi
  pg_stop "$tmp/data"
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

# Waits until GET $2 on 127.0.0.1:$1 answers 200 (no curl needed).
wait_http_ok() {
  local port=$1 path=$2 i status
  for i in $(seq 1 300); do
    status=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" &&
      printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3 &&
      head -n 1 <&3) 2>/dev/null || true)
    case "$status" in *" 200 "*) return 0 ;; esac
    sleep 0.1
  done
  log "nothing answered 200 on 127.0.0.1:$port$path"
  return 1
}

stop_multi() {
  local pid
  for pid in "${multi_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${multi_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  multi_pids=()
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Durable: fsync, synchronous_commit and full_page_writes keep their defaults (on). Only memory and
# checkpoint spacing are sized as a production server would be, so that a checkpoint does not land
# in the middle of a short run.
pg_port=$(free_port)
pg_init_cluster "$tmp/data"
pg_extra=()
[ "$statements" = 1 ] && pg_extra=(shared_preload_libraries=pg_stat_statements pg_stat_statements.track=all pg_stat_statements.track_planning=on track_wal_io_timing=on)
# Diagnostics only (the goal's figures keep the durable defaults): e.g. synchronous_commit=off shows
# how much of a commit's latency is the WAL flush.
read -r -a pg_diag <<<"${BENCH_PG_SETTINGS:-}"
pg_extra+=("${pg_diag[@]}")
pg_start "$tmp/data" "$pg_port" "$tmp/postgres.log" \
  shared_buffers=512MB max_wal_size=8GB checkpoint_timeout=30min "${pg_extra[@]}"
postmaster=$(head -n 1 "$tmp/data/postmaster.pid")
# The URL of database $1 on the throwaway cluster.
db_url() { echo "postgres://postgres@127.0.0.1:$pg_port/$1"; }
admin_url=$(db_url postgres)
psql_admin() { psql -X -q -t -A "$admin_url" "$@"; }
durability=$(psql_admin -c "select string_agg(name || '=' || setting, ' ' order by name) from pg_settings
  where name in ('fsync','synchronous_commit','full_page_writes','wal_sync_method','shared_buffers','max_wal_size')")
pg_version=$(psql_admin -c 'show server_version')

secret="whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
export CALLTRAIL_BENCH_SECRET=$secret
# The generator reads /metrics after each run with a scraper token of its own.
CALLTRAIL_BENCH_METRICS_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
export CALLTRAIL_BENCH_METRICS_TOKEN
metrics_token_hash=$(printf %s "$CALLTRAIL_BENCH_METRICS_TOKEN" | "$bin/calltrail" hash-token)

loadgen() {
  "$bin/calltrail-loadgen" run --warmup-secs "$warmup" --open-calls "$open_calls" --results "$results" "$@"
}

run_bare() {
  local port
  port=$(free_port)
  "$bin/calltrail-loadgen" bare --port "$port" >"$out/bare.log" 2>&1 &
  server_pid=$!
  sleep 0.3
  log "bare: actix-web reading the body and answering 202, $senders senders, ${duration}s"
  loadgen --label bare --url "http://127.0.0.1:$port/api/callbacks" --senders "$senders" \
    --duration-secs "$duration" --server-pid "$server_pid"
  stop_server
}

# start_calltrail LOG PORT DATABASE [VAR=value ...]: calltrail in the background (server_pid),
# configured by the environment as in production (JSON logs at warn, HMAC-signed deliveries only);
# later assignments win.
start_calltrail() {
  local logfile=$1 port=$2 db=$3
  shift 3
  env CALLTRAIL_ENVIRONMENT=production \
    CALLTRAIL_CONFIG_DIR="$repo/config" \
    CALLTRAIL__LOG__LEVEL=warn \
    CALLTRAIL__SERVER__HOST=127.0.0.1 \
    CALLTRAIL__SERVER__PORT="$port" \
    CALLTRAIL__DATABASE__URL="$(db_url "$db")" \
    CALLTRAIL__AUTH__QUERY_SECRET__ENABLED=false \
    CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__ENABLED=true \
    CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__SECRETS="$secret" \
    CALLTRAIL__METRICS__TOKENS="$metrics_token_hash" \
    "$@" "$bin/calltrail" serve >"$logfile" 2>&1 &
  server_pid=$!
}

# run_calltrail LABEL SENDERS DURATION [VAR=value ...]: a fresh database and calltrail on it.
run_calltrail() {
  local label=$1 n=$2 secs=$3 port db url
  shift 3
  port=$(free_port)
  db="bench_${label//-/_}"
  url=$(db_url "$db")
  psql_admin -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  start_calltrail "$out/$label.log" "$port" "$db" "$@"
  wait_http_ok "$port" /readyz || {
    tail -n 20 "$out/$label.log" >&2
    return 1
  }
  if [ "$statements" = 1 ]; then
    psql -X -q "$url" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
  fi
  local prefilled_seq=0
  if [ "$prefill_calls" -gt 0 ]; then
    log "$label: loading $prefill_calls calls ($((prefill_calls * 10)) events) before the run"
    psql -X -q "$url" -v calls="$prefill_calls" \
      -f "$repo/scripts/bench-data.sql" >/dev/null
    # Vacuumed, checkpointed and synced, so that none of the loading's own writes are still
    # being flushed to disk while the run measures commit latency.
    psql -X -q "$url" -c "VACUUM ANALYZE" -c "CHECKPOINT"
    sync
    prefilled_seq=$(psql -X -tA "$url" \
      -c "SELECT coalesce(max(event_seq), 0) FROM events")
  fi
  if [ -n "${BENCH_SETUP_SQL:-}" ]; then
    psql -X -q "$url" -v ON_ERROR_STOP=1 -c "$BENCH_SETUP_SQL"
  fi
  log "$label: $n senders, ${secs}s${*:+ ($*)}"
  local perf_pid=""
  if [ "$profile" = 1 ] && [ "$label" = group ] && ! command -v perf >/dev/null; then
    log "BENCH_PROFILE=1 needs perf (Debian: apt-get install linux-perf): no profile this time"
  fi
  if [ "$profile" = 1 ] && [ "$label" = group ] && command -v perf >/dev/null; then
    (sleep "$warmup" && exec perf record -q -a -e cpu-clock -F 499 -o "$out/perf.data" -- sleep "$secs") \
      >"$out/perf.log" 2>&1 &
    perf_pid=$!
  fi
  local stacks_pid=""
  if [ "$flamegraph" = 1 ] && [ "$label" = group ]; then
    if command -v perf >/dev/null; then
      local stack_secs=$((secs < 8 ? secs : 8))
      (sleep "$warmup" && exec perf record -q -F 499 --call-graph dwarf,16384 -p "$server_pid" \
        -o "$out/calltrail.perf.data" -- sleep "$stack_secs") >"$out/calltrail-perf.log" 2>&1 &
      stacks_pid=$!
    else
      log "BENCH_FLAMEGRAPH=1 needs perf (Debian: apt-get install linux-perf): no call stacks this time"
    fi
  fi
  local wal_from=""
  if [ "$wal_stats" = 1 ] && [ "$label" = group ]; then
    wal_from=$(psql -X -tA "$url" -c "SELECT pg_current_wal_lsn()")
  fi
  loadgen --label "$label" --url "http://127.0.0.1:$port/api/callbacks" --senders "$n" \
    --duration-secs "$secs" --server-pid "$server_pid" --postgres-pid "$postmaster" \
    --database-url "$url" --check-after-seq "$prefilled_seq" \
    --metrics-url "http://127.0.0.1:$port/metrics" --metrics-out "$out/$label.metrics"
  if [ -n "$perf_pid" ]; then
    wait "$perf_pid" || true
    summarise_profile
  fi
  if [ -n "$stacks_pid" ]; then
    wait "$stacks_pid" || true
    summarise_stacks
  fi
  stop_server
  if [ "$statements" = 1 ] && [ "$label" = group ]; then
    summarise_statements "$url"
  fi
  if [ -n "$wal_from" ]; then
    summarise_wal "$url" "$wal_from"
  fi
  if [ "$label" = catch-up ]; then
    catch_up "$db" "$@"
  fi
  if [ "$label" = group ] && [[ " $runs " == *" index-cost "* ]]; then
    log "index-cost: what each index and the compression cost PostgreSQL per event"
    psql -X -q -v n="${BENCH_INDEX_COST_EVENTS:-20000}" "$url" \
      -f "$repo/scripts/bench-index-cost.sql" | tee "$out/index-cost.txt"
  fi
  stop_server
  if [ "$label" = group ] && [[ " $runs " == *" db-ceiling "* ]]; then
    db_ceiling "$url"
  fi
  psql_admin -c "DROP DATABASE IF EXISTS $db"
}

# run_multi: BENCH_INSTANCES calltrail instances on one fresh database, as a load balancer would
# have them, and the group run's load spread across them; the generator sums their CPU and memory
# and reads the first one's /metrics.
run_multi() {
  local n=${BENCH_INSTANCES:-3} db=bench_multi url port first_port="" urls="" pids="" i
  url=$(db_url "$db")
  psql_admin -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  for i in $(seq 1 "$n"); do
    port=$(free_port)
    # One at a time: the first migrates the database, the others find it current.
    start_calltrail "$out/multi-$i.log" "$port" "$db" \
      ${BENCH_MULTI_WRITERS:+CALLTRAIL__INGEST__WRITERS=$BENCH_MULTI_WRITERS}
    multi_pids+=("$server_pid")
    server_pid=""
    wait_http_ok "$port" /readyz || {
      tail -n 20 "$out/multi-$i.log" >&2
      return 1
    }
    first_port=${first_port:-$port}
    urls="$urls${urls:+,}http://127.0.0.1:$port/api/callbacks"
    pids="$pids${pids:+,}${multi_pids[-1]}"
  done
  log "multi: $n instances on one database, $senders senders spread across them, ${duration}s"
  loadgen --label multi --url "$urls" --senders "$senders" --duration-secs "$duration" \
    --server-pid "$pids" --postgres-pid "$postmaster" --database-url "$url" \
    --metrics-url "http://127.0.0.1:$first_port/metrics" --metrics-out "$out/multi.metrics"
  stop_multi
  psql_admin -c "DROP DATABASE IF EXISTS $db"
}

# The database ceiling, on the group run's database once calltrail has stopped: pgbench replays the
# ingest statement (scripts/db-ceiling/) with the group run's events, four clients as the four
# writers, with the whole machine to PostgreSQL; then the same without parts of what it stores. Each
# variant starts from empty tables and a checkpoint. Its table goes to db-ceiling.txt.
db_ceiling() {
  local url=$1 secs=${BENCH_DB_CEILING_SECS:-10} n
  if ! command -v pgbench >/dev/null; then
    log "db-ceiling needs pgbench (Debian: postgresql-client): skipped"
    return
  fi
  log "db-ceiling: PostgreSQL alone replaying the ingest statement, ${secs}s per variant and batch size"
  psql -X -q -v n="${BENCH_DB_CEILING_EVENTS:-20000}" "$url" -f "$repo/scripts/db-ceiling/prepare.sql"
  n=$(psql -X -tA "$url" -c "SELECT count(*) FROM ceiling_sample")
  {
    echo "| statement replayed by 4 pgbench clients | events per statement | events/s | machine CPU | machine µs/event | WAL B/event | mean statement ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    ceiling_variant "$url" "$n" "$secs" "as deployed" ingest.sql
    ceiling_variant "$url" "$n" "$secs" "without the event_dedup claim" no-dedup.sql
    ceiling_variant "$url" "$n" "$secs" "one unpartitioned table with a unique key instead of the claim" unpartitioned.sql
    psql -X -q "$url" -c "DO \$\$ DECLARE i record; BEGIN
      FOR i IN SELECT indexrelid::regclass AS name FROM pg_index
               WHERE indrelid = 'events'::regclass AND NOT indisprimary LOOP
        EXECUTE format('DROP INDEX %s', i.name);
      END LOOP; END \$\$"
    ceiling_variant "$url" "$n" "$secs" "without the secondary indexes of events" ingest.sql
    ceiling_variant "$url" "$n" "$secs" "without either" no-dedup.sql
    ceiling_variant "$url" "$n" "$secs" "raw events into a narrow table (the issue's reference)" raw-only.sql
  } | tee "$out/db-ceiling.txt"
}

# ceiling_variant URL SAMPLE_SIZE SECS DESCRIPTION SCRIPT: one row of the db-ceiling table per batch size.
ceiling_variant() {
  local url=$1 n=$2 secs=$3 what=$4 script=$5 batch
  for batch in ${BENCH_DB_CEILING_BATCHES:-22 100}; do
    psql -X -q "$url" -c "TRUNCATE events, event_dedup, projection_queue, ceiling_unpartitioned, ceiling_raw_only" -c "CHECKPOINT"
    local cpu0 wal0 result cpu1 wal1
    cpu0=$(machine_ticks)
    wal0=$(psql -X -tA "$url" -c "SELECT pg_current_wal_lsn()")
    # Generic plans, as the service's statement gets (it is planned once per connection).
    result=$(PGOPTIONS="-c plan_cache_mode=force_generic_plan" pgbench -n -M prepared -c 4 -j 2 \
      -T "$secs" -D n="$n" -D B="$batch" -f "$repo/scripts/db-ceiling/$script" "$url" 2>&1) || {
      echo "$result" | tail -n 5 >&2
      return 1
    }
    cpu1=$(machine_ticks)
    wal1=$(psql -X -tA "$url" -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0')")
    echo "$result" | awk -v what="$what" -v batch="$batch" -v secs="$secs" \
      -v cores="$(nproc)" -v wal="$wal1" -v c0="$cpu0" -v c1="$cpu1" '
      /^number of transactions actually processed/ { split($0, a, ": "); split(a[2], b, "/"); txns = b[1] }
      /^latency average/ { lat = $4 }
      END {
        split(c0, x, " "); split(c1, y, " ")
        busy = (y[1] - x[1]) / ((y[1] - x[1]) + (y[2] - x[2]))
        events = txns * batch
        printf "| %s | %d | %.0f | %.0f%% | %.1f | %.0f | %.2f |\n", what, batch, events / secs,
          100 * cores * busy, cores * busy * secs * 1e6 / events, wal / events, lat
      }'
  done
}

# The whole machine's CPU time in clock ticks: busy, then idle (iowait counted as idle).
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat; }

# CPU time, in clock ticks, of a process; of the postmaster with every child it has now or reaped.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
postgres_ticks() {
  local total child
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$postmaster/stat")
  for child in $(pgrep -P "$postmaster"); do total=$((total + $(cpu_ticks "$child"))); done
  echo "$total"
}

# The catch-up run's second half: the projector alone on the backlog the first half left queued
# (calltrail started again, projector on, no traffic), timed until the queue is empty; then the
# call model is checked against the event log. Its figures go to catch-up.txt and the summary.
catch_up() {
  local db=$1 url port
  url=$(db_url "$1")
  shift
  local events calls queued
  events=$(psql -X -tA "$url" -c "SELECT count(*) FROM events WHERE call_id IS NOT NULL")
  calls=$(psql -X -tA "$url" -c "SELECT count(DISTINCT call_id) FROM events WHERE call_id IS NOT NULL")
  queued=$(psql -X -tA "$url" -c "SELECT count(*) FROM projection_queue")
  if [ "$events" -eq 0 ]; then
    echo "catch-up: FAILED: nothing was ingested, so there is nothing to project" | tee "$out/catch-up.txt"
    return
  fi
  log "catch-up: projecting the backlog: $events events of $calls calls ($queued queued commits)"
  port=$(free_port)
  local pg_before started ended
  pg_before=$(postgres_ticks)
  started=$(date +%s.%N)
  start_calltrail "$out/catch-up-projector.log" "$port" "$db" "$@" CALLTRAIL__PROJECTION__ENABLED=true
  local i
  # Polled four times a second: each poll is a new connection, which costs PostgreSQL a backend.
  for i in $(seq 1 2400); do
    [ "$(psql -X -tA "$url" -c "SELECT NOT EXISTS (SELECT 1 FROM projection_queue)")" = t ] && break
    sleep 0.25
  done
  ended=$(date +%s.%N)
  local calltrail_ticks pg_ticks hz
  calltrail_ticks=$(cpu_ticks "$server_pid")
  pg_ticks=$(($(postgres_ticks) - pg_before))
  hz=$(getconf CLK_TCK)
  stop_server
  local projected left
  projected=$(psql -X -tA "$url" -c "SELECT count(*) FROM calls")
  left=$(psql -X -tA "$url" -c "SELECT count(*) FROM projection_queue")
  awk -v events="$events" -v calls="$calls" -v projected="$projected" -v left="$left" \
    -v secs="$(echo "$ended $started" | awk '{print $1 - $2}')" -v ct="$calltrail_ticks" \
    -v pg="$pg_ticks" -v hz="$hz" 'BEGIN {
      check = (projected == calls && left == 0) ? "ok" : "FAILED"
      printf "catch-up: the projector alone projected %d events of %d calls in %.1f s: %.0f events/s; ", events, calls, secs, events / secs
      printf "CPU per event: calltrail %.1f µs, PostgreSQL %.1f µs; ", ct / hz * 1e6 / events, pg / hz * 1e6 / events
      printf "check: %s (%d calls in the model, %d queued commits left)\n", check, projected, left
    }' | tee "$out/catch-up.txt"
}

# Which statements took PostgreSQL's time during the group run (warm-up included), heaviest first.
summarise_statements() {
  psql -X -q "$1" -c "SELECT round(total_exec_time::numeric, 0) AS total_ms,
      round(total_plan_time::numeric, 0) AS plan_ms,
      round((100 * total_exec_time / sum(total_exec_time) OVER ())::numeric, 1) AS pct, calls,
      round((1000 * total_exec_time / greatest(calls, 1))::numeric, 0) AS us_per_call, rows,
      round((1000 * total_exec_time / greatest(rows, 1))::numeric, 1) AS us_per_row,
      left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS statement
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY total_exec_time DESC LIMIT 15" | tee "$out/statements.txt"
  # The WAL flushes that commits wait for (the whole server since it started, the loading included).
  psql -X -q "$1" -c "SELECT wal_records, pg_size_pretty(wal_bytes) AS wal, wal_write, wal_sync,
      round((wal_sync_time / greatest(wal_sync, 1))::numeric, 3) AS ms_per_sync,
      round((wal_write_time / greatest(wal_write, 1))::numeric, 3) AS ms_per_write
    FROM pg_stat_wal" | tee -a "$out/statements.txt"
}

# What the group run wrote to the WAL (warm-up, run and the projector's catching up), by record
# type, with the events it stored for scale.
summarise_wal() {
  local url=$1 from=$2 to events
  # No checkpoint before reading: it would recycle the run's first segments.
  to=$(psql -X -tA "$url" -c "SELECT pg_current_wal_flush_lsn()")
  events=$(psql -X -tA "$url" -c "SELECT count(*) FROM events")
  {
    echo "WAL from $from to $to: $(psql -X -tA "$url" -c "SELECT pg_wal_lsn_diff('$to', '$from')") bytes for $events events stored"
    # Debian keeps pg_waldump beside the server, off the PATH.
    local waldump
    waldump=$(command -v pg_waldump || ls /usr/lib/postgresql/*/bin/pg_waldump 2>/dev/null | sort -V | tail -n 1)
    "${waldump:-pg_waldump}" --stats=record -p "$tmp/data/pg_wal" -s "$from" -e "$to" 2>&1
    # What an event row holds: its size in the heap, its raw element, and the rest.
    psql -X -q "$url" -c "SELECT round(avg(pg_column_size(e.*))) AS row_bytes,
        round(avg(pg_column_size(raw))) AS raw_bytes,
        round(avg(pg_column_size(e.*) - pg_column_size(raw))) AS other_columns_bytes
      FROM (SELECT * FROM events LIMIT 20000) e"
    # The same bytes by the table or index a record changes (its first block's relation).
    echo
    echo "bytes per event by relation (records whose first block is in it)"
    {
      psql -X -tA -F ' ' "$url" -c "SELECT 'rel', pg_relation_filenode(oid), relname FROM pg_class
        WHERE pg_relation_filenode(oid) IS NOT NULL"
      "${waldump:-pg_waldump}" -p "$tmp/data/pg_wal" -s "$from" -e "$to" 2>/dev/null
    } | awk -v events="$events" '
      $1 == "rel" && NF == 3 { name[$2] = $3; next }
      /^rmgr:/ {
        split($0, a, "/ *"); tot = a[3] + 0
        if (match($0, /rel [0-9]+\/[0-9]+\/[0-9]+/)) {
          n = split(substr($0, RSTART + 4, RLENGTH - 4), r, "/"); rel = r[3]
        } else rel = "-"
        bytes[rel] += tot; all += tot
      }
      END {
        for (rel in bytes) printf "%10.1f B/event %5.1f %%  %s\n", bytes[rel] / events,
          100 * bytes[rel] / all, (rel in name) ? name[rel] : (rel == "-" ? "(no relation: commits, ...)" : "relfilenode " rel)
      }' | sort -rn | head -n 25
  } | tee "$out/wal-stats.txt"
}

# calltrail's call stacks during the group run: folded, as a flame graph when a renderer is
# installed, and summed by task and by stage of a request.
summarise_stacks() {
  perf script -i "$out/calltrail.perf.data" -F comm,tid,ip,sym 2>/dev/null |
    python3 "$repo/scripts/perf-breakdown.py" "$out/calltrail.folded" | tee "$out/calltrail-breakdown.txt"
  if command -v inferno-flamegraph >/dev/null; then
    inferno-flamegraph --minwidth 1 --title "calltrail, group commit run" <"$out/calltrail.folded" >"$out/calltrail.svg"
    log "flame graph: $out/calltrail.svg"
  else
    log "folded stacks: $out/calltrail.folded (cargo install inferno, then inferno-flamegraph <it >calltrail.svg)"
  fi
}

# Where the CPU went during the group run: by process, then the hottest functions of calltrail
# (its HTTP workers and its runtime's threads) and of PostgreSQL.
summarise_profile() {
  local report="perf report -i $out/perf.data --stdio --no-children"
  {
    echo "## CPU samples by process"
    $report --sort comm 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 15 || true
    echo
    echo "## calltrail: hottest functions"
    $report --comm 'actix-server wo,tokio-rt-worker' --percentage relative --sort dso,sym 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -n 40 || true
    echo
    echo "## PostgreSQL: hottest functions"
    $report --comm postgres --percentage relative --sort dso,sym 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -n 40 || true
  } >"$out/profile.txt"
  log "profile: $out/profile.txt"
}

log "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $runs; do
  case "$run" in
    bare) run_bare ;;
    per-request) run_calltrail per-request "$senders" "$duration" CALLTRAIL__INGEST__BATCH_MAX_EVENTS=1 ;;
    group) run_calltrail group "$senders" "$duration" ;;
    overload) run_calltrail overload "$overload_senders" "$overload_duration" \
      CALLTRAIL__INGEST__QUEUE_CAPACITY="$overload_queue" ;;
    index-cost) [[ " $runs " == *" group "* ]] || log "index-cost needs the group run's events: add group" ;;
    db-ceiling) [[ " $runs " == *" group "* ]] || log "db-ceiling needs the group run's events: add group" ;;
    catch-up) run_calltrail catch-up "$senders" "$duration" CALLTRAIL__PROJECTION__ENABLED=false ;;
    multi) run_multi ;;
    *) log "unknown run $run (bare, per-request, group, overload, index-cost, db-ceiling, catch-up, multi)"; exit 2 ;;
  esac
done

echo
echo "Ingest benchmark: $senders senders, ${duration}s measured per run after ${warmup}s warm-up"
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB memory, kernel $(uname -r)"
echo "PostgreSQL $pg_version: $durability"
echo "CPU columns: percent of one core over the window (the machine has $(nproc) cores: $(( $(nproc) * 100 ))%)"
echo
"$bin/calltrail-loadgen" report "$results"
# Removed at the start: present only when this invocation ran catch-up or db-ceiling.
[ -f "$out/catch-up.txt" ] && { echo; cat "$out/catch-up.txt"; }
[ -f "$out/db-ceiling.txt" ] && { echo; echo "Database ceiling (PostgreSQL alone, pgbench):"; cat "$out/db-ceiling.txt"; }
echo
echo "results: $results"
