#!/usr/bin/env bash
# Campaign benchmark, one command: builds release, starts a throwaway PostgreSQL with durable
# settings (as scripts/bench-ingest.sh does), and in one run measures
#   loadgen   calltrail driven by the ingest load generator (64 senders, its realistic mix);
#   campaign  calltrail driven by `calltrail emulator campaign` with whole calls, offered more calls
#             than calltrail takes, so that what it sustains is calltrail's rate under it; checks
#             that every acknowledged callback is stored exactly once;
#   sink-*    the campaign alone against `calltrail emulator sink` (202 to everything), once per
#             scheme: query_secret, jwt, webhook_signature;
#   open      many calls open at once (real-time calls, 7 s on average) against the sink: peak open calls
#             and the campaign's peak RSS;
# then prints the figures and the goal's checks.
#
# Adjust with the environment (defaults in brackets):
#   BENCH_DURATION [20]        seconds of placing calls per campaign run, and of the loadgen window
#   BENCH_SENDERS [64]         loadgen senders, and the campaign's connections
#   BENCH_SINK_RATE [5000]     calls per second offered to the sink (about 5 callbacks each)
#   BENCH_OPEN_RATE [400]      calls per second in the open-calls run (real time: a call lasts 1 to 11 s, 7 on average)
#   BENCH_SPEED [10]           the campaign's clock speed in the calltrail and sink runs
#   BENCH_RUNS [loadgen campaign sink-query_secret sink-jwt sink-webhook_signature open]
#   BENCH_OUT [.data/bench]    where the results and logs go (git-ignored)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. "$repo/scripts/pg-common.sh"

duration=${BENCH_DURATION:-20}
senders=${BENCH_SENDERS:-64}
sink_rate=${BENCH_SINK_RATE:-5000}
open_rate=${BENCH_OPEN_RATE:-400}
speed=${BENCH_SPEED:-10}
runs=${BENCH_RUNS:-loadgen campaign sink-query_secret sink-jwt sink-webhook_signature open}
out=${BENCH_OUT:-$repo/.data/bench}
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results="$out/campaign-$stamp.jsonl"
loadgen_results="$out/campaign-loadgen-$stamp.jsonl"

pg_find_binaries
pg_ensure_service_user

log "building release binaries"
cargo build --release --quiet -p calltrail -p calltrail-loadgen --bins
bin="${CARGO_TARGET_DIR:-$repo/target}/release"

tmp=$(mktemp -d /tmp/calltrail-bench-campaign.XXXXXX)
chmod 755 "$tmp"
[ "$(id -u)" -eq 0 ] && chown "$PG_SERVICE_USER" "$tmp"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  pg_stop "$tmp/data"
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until GET $2 on 127.0.0.1:$1 answers 200.
wait_http_ok() {
  local port=$1 path=$2 i status
  for i in $(seq 1 300); do
    status=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" &&
      printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3 &&
      head -n 1 <&3) 2>/dev/null || true)
    case "$status" in *" 200 "* | *" 202 "* | *" 404 "* | *" 405 "*) return 0 ;; esac
    sleep 0.1
  done
  log "nothing answered on 127.0.0.1:$port$path"
  return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# CPU time in clock ticks of a process; of the postmaster with every child it has now or reaped.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
postgres_ticks() {
  local total child
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$postmaster/stat")
  for child in $(pgrep -P "$postmaster"); do total=$((total + $(cpu_ticks "$child"))); done
  echo "$total"
}
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $5 + $6, $9}' /proc/stat; }
hz=$(getconf CLK_TCK)

# Durable PostgreSQL, sized as bench-ingest.sh sizes it.
pg_port=$(free_port)
pg_init_cluster "$tmp/data"
pg_start "$tmp/data" "$pg_port" "$tmp/postgres.log" \
  shared_buffers=512MB max_wal_size=8GB checkpoint_timeout=30min
postmaster=$(head -n 1 "$tmp/data/postmaster.pid")
db_url() { echo "postgres://postgres@127.0.0.1:$pg_port/$1"; }
psql_admin() { psql -X -q -t -A "$(db_url postgres)" "$@"; }

secret="whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
export CALLTRAIL_BENCH_SECRET=$secret
CALLTRAIL_BENCH_METRICS_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
export CALLTRAIL_BENCH_METRICS_TOKEN
metrics_token_hash=$(printf %s "$CALLTRAIL_BENCH_METRICS_TOKEN" | "$bin/calltrail" hash-token)

# start_calltrail LOG PORT DATABASE: as in production (JSON logs at warn), accepting the Standard
# Webhooks signatures of both drivers.
start_calltrail() {
  env CALLTRAIL_ENVIRONMENT=production \
    CALLTRAIL_CONFIG_DIR="$repo/config" \
    CALLTRAIL__LOG__LEVEL=warn \
    CALLTRAIL__SERVER__HOST=127.0.0.1 \
    CALLTRAIL__SERVER__PORT="$2" \
    CALLTRAIL__DATABASE__URL="$(db_url "$3")" \
    CALLTRAIL__AUTH__QUERY_SECRET__ENABLED=false \
    CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__ENABLED=true \
    CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__SECRETS="$secret" \
    CALLTRAIL__METRICS__TOKENS="$metrics_token_hash" \
    "$bin/calltrail" serve >"$1" 2>&1 &
  server_pid=$!
  wait_http_ok "$2" /readyz || {
    tail -n 20 "$1" >&2
    return 1
  }
}

fresh_db() {
  psql_admin -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}

# campaign ARGS...: the campaign with the bench's Standard Webhooks secret; its JSON summary on
# stdout, its progress lines in $out/LABEL.progress (LABEL is the first argument).
campaign() {
  local label=$1
  shift
  CALLTRAIL_CONFIG_DIR="$repo/config" CALLTRAIL__LOG__LEVEL=warn \
    CALLTRAIL__EMULATOR__WEBHOOK_SECRET="$secret" \
    "$bin/calltrail" emulator campaign --json --connections "$senders" "$@" 2>"$out/$label.progress"
}

# record LABEL JSON [KEY=VALUE ...]: one line of the results file, the campaign's summary with the
# run's label and extra figures.
record() {
  python3 - "$@" >>"$results" <<'EOF'
import json, sys
label, summary, *extra = sys.argv[1:]
line = json.loads(summary)
line["label"] = label
for kv in extra:
    k, v = kv.split("=", 1)
    line[k] = float(v)
print(json.dumps(line))
EOF
}

loadgen_ev_s=""
run_loadgen() {
  local port db=bench_campaign_loadgen
  port=$(free_port)
  fresh_db "$db"
  start_calltrail "$out/loadgen-calltrail.log" "$port" "$db"
  log "loadgen: $senders senders, ${duration}s, against calltrail"
  "$bin/calltrail-loadgen" run --label loadgen --url "http://127.0.0.1:$port/api/callbacks" \
    --senders "$senders" --warmup-secs 3 --duration-secs "$duration" --results "$loadgen_results" \
    --server-pid "$server_pid" --postgres-pid "$postmaster" --database-url "$(db_url "$db")"
  stop_server
  psql_admin -c "DROP DATABASE IF EXISTS $db"
  loadgen_ev_s=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["events_per_second"])' "$loadgen_results")
}

run_campaign() {
  local port db=bench_campaign_calls rate calls
  port=$(free_port)
  fresh_db "$db"
  start_calltrail "$out/campaign-calltrail.log" "$port" "$db"
  # Offered a quarter more events than the load generator got stored (a campaign callback carries
  # one event, about five per call), so that calltrail, not the campaign's schedule, sets the pace.
  rate=$(python3 -c "import sys; print(max(50, round(1.25 * float(sys.argv[1] or 4000) / 5.1)))" "$loadgen_ev_s")
  calls=$((rate * duration))
  log "campaign: $calls calls at $rate/s (speed $speed) against calltrail"
  local c0 p0 m0 c1 p1 m1 summary stored
  c0=$(cpu_ticks "$server_pid")
  p0=$(postgres_ticks)
  m0=$(machine_ticks)
  summary=$(campaign campaign --calls "$calls" --rate "$rate" --speed "$speed" --auth webhook_signature \
    --callback "http://127.0.0.1:$port/api/callbacks")
  c1=$(cpu_ticks "$server_pid")
  p1=$(postgres_ticks)
  m1=$(machine_ticks)
  stop_server
  stored=$(psql -X -tA "$(db_url "$db")" -c "SELECT count(*) FROM events")
  local distinct
  distinct=$(psql -X -tA "$(db_url "$db")" -c "SELECT count(DISTINCT event_id) FROM events")
  psql_admin -c "DROP DATABASE IF EXISTS $db"
  local secs
  secs=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$summary")
  record campaign "$summary" stored="$stored" distinct="$distinct" \
    server_cpu_percent="$(awk -v a="$c0" -v b="$c1" -v s="$secs" -v hz="$hz" 'BEGIN{print 100*(b-a)/hz/s}')" \
    postgres_cpu_percent="$(awk -v a="$p0" -v b="$p1" -v s="$secs" -v hz="$hz" 'BEGIN{print 100*(b-a)/hz/s}')" \
    machine_cpu_percent="$(echo "$m0 $m1" | awk -v cores="$(nproc)" '{busy=$4-$1; idle=$5-$2; print 100*cores*busy/(busy+idle)}')" \
    steal_percent="$(echo "$m0 $m1" | awk -v cores="$(nproc)" '{busy=$4-$1; idle=$5-$2; st=$6-$3; print 100*cores*st/(busy+idle+st)}')"
}

# run_sink SCHEME: the campaign alone against the sink.
run_sink() {
  local scheme=$1 port summary
  port=$(free_port)
  "$bin/calltrail" emulator sink --port "$port" --workers 1 >"$out/sink.log" 2>&1 &
  server_pid=$!
  wait_http_ok "$port" /
  log "sink-$scheme: $((sink_rate * duration)) calls at $sink_rate/s (speed $speed), $scheme"
  local c0 c1
  c0=$(cpu_ticks "$server_pid")
  summary=$(campaign "sink-$scheme" --calls $((sink_rate * duration)) --rate "$sink_rate" \
    --speed "$speed" --auth "$scheme" --callback "http://127.0.0.1:$port/api/callbacks?secret=bench")
  c1=$(cpu_ticks "$server_pid")
  stop_server
  local secs
  secs=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$summary")
  record "sink-$scheme" "$summary" \
    server_cpu_percent="$(awk -v a="$c0" -v b="$c1" -v s="$secs" -v hz="$hz" 'BEGIN{print 100*(b-a)/hz/s}')"
}

run_open() {
  local port summary
  port=$(free_port)
  "$bin/calltrail" emulator sink --port "$port" --workers 1 >"$out/sink.log" 2>&1 &
  server_pid=$!
  wait_http_ok "$port" /
  log "open: $((open_rate * duration)) real-time calls at $open_rate/s against the sink"
  summary=$(campaign open --calls $((open_rate * duration)) --rate "$open_rate" --speed 1 \
    --auth webhook_signature --callback "http://127.0.0.1:$port/api/callbacks")
  stop_server
  record open "$summary"
}

log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $runs; do
  case "$run" in
    loadgen) run_loadgen ;;
    campaign) run_campaign ;;
    sink-query_secret | sink-jwt | sink-webhook_signature) run_sink "${run#sink-}" ;;
    open) run_open ;;
    *) log "unknown run $run (loadgen campaign sink-query_secret sink-jwt sink-webhook_signature open)"; exit 2 ;;
  esac
done

echo
echo "Campaign benchmark: ${duration}s per run, $senders senders/connections, machine $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$loadgen_results" <<'EOF'
import json, os, sys
runs = [json.loads(l) for l in open(sys.argv[1])] if os.path.exists(sys.argv[1]) else []
lg = [json.loads(l) for l in open(sys.argv[2])] if os.path.exists(sys.argv[2]) else []
by = {r["label"]: r for r in runs}
rows = []
if lg:
    l = lg[-1]
    rows.append(("loadgen → calltrail", f'{l["requests_per_second"]:.0f}', f'{l["events_per_second"]:.0f}',
                 f'{l["p50_ms"] or 0:.2f}', f'{l["p99_ms"] or 0:.2f}', "0", "0",
                 f'{l["loadgen_cpu_percent"] or 0:.0f}%', "-", "-", f'{l["server_cpu_percent"] or 0:.0f}%',
                 f'{l["postgres_cpu_percent"] or 0:.0f}%',
                 (("ok " if l["check"]["ok"] else "FAILED ") + f'{l["check"]["rows"]}/{l["check"]["acknowledged"]}') if l.get("check") else "-"))
for label, r in by.items():
    cpu = 100 * r["cpu_seconds"] / r["seconds"]
    check = "-"
    if "stored" in r:
        ok = r["stored"] == r["callbacks_delivered"] == r["distinct"]
        check = f'{"ok" if ok else "FAILED"} {int(r["stored"])}/{r["callbacks_delivered"]}'
    rows.append((f'campaign → {"calltrail" if label == "campaign" else label}',
                 f'{r["steady_callbacks_per_second"]:.0f}', f'{r["steady_callbacks_per_second"]:.0f}',
                 f'{r["latency_p50_ms"]:.2f}', f'{r["latency_p99_ms"]:.2f}', str(r["retries"]), str(r["failed"]),
                 f'{cpu:.0f}%', f'{r["cpu_us_per_callback"]:.1f}', f'{r["peak_open_calls"]} / {r["peak_rss_mb"]:.0f} MB',
                 f'{r.get("server_cpu_percent", 0):.0f}%' if "server_cpu_percent" in r else "-",
                 f'{r.get("postgres_cpu_percent", 0):.0f}%' if "postgres_cpu_percent" in r else "-", check))
head = ("run", "callbacks/s", "events/s", "p50 ms", "p99 ms", "retries", "failed", "driver CPU",
        "driver µs/callback", "peak open calls / RSS", "receiver CPU", "postgres CPU", "check")
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" for _ in head) + "|")
for row in rows:
    print("| " + " | ".join(row) + " |")
print()
def goal(ok, what, value):
    print(f'{"PASS" if ok else "FAIL"}  {what:<58} {value}')
if lg and "campaign" in by:
    ratio = by["campaign"]["steady_callbacks_per_second"] / lg[-1]["requests_per_second"]
    goal(ratio >= 0.9, "campaign callbacks/s >= 90% of loadgen's, same run",
         f'{ratio:.0%} ({by["campaign"]["steady_callbacks_per_second"]:.0f} vs {lg[-1]["requests_per_second"]:.0f} requests/s; '
         f'events/s {by["campaign"]["steady_callbacks_per_second"]:.0f} vs {lg[-1]["events_per_second"]:.0f})')
if "campaign" in by:
    r = by["campaign"]
    goal(r["stored"] == r["callbacks_delivered"] == r["distinct"], "every acknowledged callback stored exactly once",
         f'{int(r["stored"])} stored, {r["callbacks_delivered"]} acknowledged')
for scheme in ("query_secret", "jwt", "webhook_signature"):
    r = by.get(f"sink-{scheme}")
    if r:
        goal(r["steady_callbacks_per_second"] >= 20000, f"{scheme}: >= 20,000 callbacks/s against the sink",
             f'{r["steady_callbacks_per_second"]:.0f}/s')
if "open" in by:
    r = by["open"]
    goal(r["peak_open_calls"] >= 2000 and r["peak_rss_mb"] < 200, ">= 2,000 calls open at once within 200 MB",
         f'{r["peak_open_calls"]} open, peak RSS {r["peak_rss_mb"]:.1f} MB')
EOF
echo
echo "results: $results"
