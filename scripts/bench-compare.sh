#!/usr/bin/env bash
# Compares variants of the ingest benchmark's group run, interleaved: round 1 runs every variant
# once, round 2 again, and so on, so that a machine whose speed drifts (other jobs, a hypervisor
# lending its cores) drifts under every variant alike. Prints each run, then per variant the median
# and range, and each variant's per-round ratio to the first variant.
#
#   scripts/bench-compare.sh [-r ROUNDS] [-d SECONDS] VARIANT VARIANT...
#
# A variant is NAME[@REV][:SETTINGS]:
#   NAME       a label for the tables
#   @REV       a git revision of this repository (a commit, a branch, HEAD~1): built and benchmarked
#              from a worktree of its own, with its own scripts; without it, the working tree
#   SETTINGS   environment for that variant's runs, `;`-separated: calltrail's settings
#              (CALLTRAIL__INGEST__WRITERS=6) or the benchmark's (BENCH_PG_SETTINGS=commit_delay=300
#              commit_siblings=1, BENCH_SETUP_SQL=...)
#
# Examples:
#   scripts/bench-compare.sh before@HEAD~1 after
#   scripts/bench-compare.sh -r 4 four six:CALLTRAIL__INGEST__WRITERS=6
#   scripts/bench-compare.sh on 'off:CALLTRAIL__PROJECTION__ENABLED=false'
#
# Defaults: 3 rounds of 15 s (about 1.5 minutes per run). Every run checks that each acknowledged
# event was stored exactly once; a failed check is shown and makes the script exit non-zero.
# Logs and results: .data/compare/<time>/ (git-ignored).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

rounds=3
duration=15
while getopts "r:d:h" opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    d) duration=$OPTARG ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ]; then
  echo "bench-compare: give at least two variants (-h for help)" >&2
  exit 2
fi
command -v python3 >/dev/null || { echo "bench-compare: needs python3 for its summary" >&2; exit 2; }

out="$repo/.data/compare/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
worktrees=()
cleanup() {
  local w
  for w in "${worktrees[@]}"; do git -C "$repo" worktree remove --force "$w" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# Each variant: its name, the directory whose scripts/bench-ingest.sh runs it, its target directory.
names=() dirs=() targets=() settings=()
for spec in "$@"; do
  head=${spec%%:*}
  setting=""
  [ "$head" != "$spec" ] && setting=${spec#*:}
  name=${head%%@*}
  dir=$repo
  target=${CARGO_TARGET_DIR:-$repo/target}
  if [ "$name" != "$head" ]; then
    rev=${head#*@}
    commit=$(git -C "$repo" rev-parse --verify --quiet "$rev^{commit}") ||
      { echo "bench-compare: $rev is not a revision of this repository" >&2; exit 2; }
    dir="$out/tree-$name"
    git -C "$repo" worktree add --detach --quiet "$dir" "$commit"
    worktrees+=("$dir")
    # Its own target directory, kept between comparisons: a revision builds once.
    target="$repo/.data/compare/target-${commit:0:12}"
  fi
  names+=("$name") dirs+=("$dir") targets+=("$target") settings+=("$setting")
done

for round in $(seq 1 "$rounds"); do
  for i in "${!names[@]}"; do
    name=${names[$i]}
    run_out="$out/$name-$round"
    mkdir -p "$run_out"
    env_args=()
    if [ -n "${settings[$i]}" ]; then IFS=';' read -r -a env_args <<<"${settings[$i]}"; fi
    echo "[compare] round $round/$rounds: $name" >&2
    if ! env "${env_args[@]}" CARGO_TARGET_DIR="${targets[$i]}" BENCH_OUT="$run_out" \
      BENCH_RUNS=group BENCH_DURATION="$duration" \
      bash "${dirs[$i]}/scripts/bench-ingest.sh" >"$run_out/bench.log" 2>&1; then
      echo "[compare] $name, round $round: the benchmark failed; its log: $run_out/bench.log" >&2
    fi
    cat "$run_out"/results-*.jsonl 2>/dev/null |
      python3 -c 'import json,sys
for line in sys.stdin:
    r = json.loads(line)
    if r.get("label") == "group":
        r["variant"], r["round"] = sys.argv[1], int(sys.argv[2])
        print(json.dumps(r))' "$name" "$round" >>"$out/runs.jsonl" || true
  done
done

status=0
python3 - "$out/runs.jsonl" "${names[@]}" <<'EOF' || status=$?
import json, statistics, sys

path, names = sys.argv[1], sys.argv[2:]
try:
    runs = [json.loads(line) for line in open(path)]
except FileNotFoundError:
    runs = []

def per_event(r, key):
    # CPU percent of one core over the window -> microseconds of CPU per stored event.
    eps = r["events_per_second"]
    return r[key] * 1e4 / eps if eps else float("nan")

def check(r):
    c = r.get("check") or {}
    return "ok" if c.get("ok") else "FAILED"

print("| round | variant | events/s | p50 ms | p99 ms | calltrail µs/event | postgres µs/event | machine CPU | check |")
print("| ----- | ------- | -------- | ------ | ------ | ------------------ | ----------------- | ----------- | ----- |")
for r in sorted(runs, key=lambda r: (r["round"], names.index(r["variant"]))):
    print(f"| {r['round']} | {r['variant']} | {r['events_per_second']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
          f"| {per_event(r, 'server_cpu_percent'):.1f} | {per_event(r, 'postgres_cpu_percent'):.1f} "
          f"| {r['machine_cpu_percent']:.0f}% | {check(r)} |")
print()
by = {n: [r for r in runs if r["variant"] == n] for n in names}
base = names[0]
print(f"| variant | runs | events/s median (min–max) | p99 ms median | calltrail µs/event | postgres µs/event | events/s against {base}, round by round |")
print("| ------- | ---- | ------------------------- | ------------- | ------------------ | ----------------- | ------------------------------------- |")
for n in names:
    rs = by[n]
    if not rs:
        print(f"| {n} | 0 | - | - | - | - | - |")
        continue
    eps = [r["events_per_second"] for r in rs]
    ratios = []
    for r in rs:
        b = [x for x in by[base] if x["round"] == r["round"]]
        if b and n != base:
            ratios.append(f"{r['events_per_second'] / b[0]['events_per_second']:.2f}")
    print(f"| {n} | {len(rs)} | {statistics.median(eps):.0f} ({min(eps):.0f}–{max(eps):.0f}) "
          f"| {statistics.median(r['p99_ms'] for r in rs):.2f} "
          f"| {statistics.median(per_event(r, 'server_cpu_percent') for r in rs):.1f} "
          f"| {statistics.median(per_event(r, 'postgres_cpu_percent') for r in rs):.1f} "
          f"| {' '.join(ratios) if ratios else '-'} |")
failed = [r for r in runs if check(r) != "ok"]
if failed:
    print(f"\n{len(failed)} run(s) failed the exactly-once check", file=sys.stderr)
    sys.exit(1)
EOF
runs_done=$(wc -l <"$out/runs.jsonl" 2>/dev/null || echo 0)
echo "[compare] $runs_done of $((rounds * ${#names[@]})) runs measured; logs and results in $out" >&2
[ "$status" -eq 0 ] && [ "$runs_done" -eq $((rounds * ${#names[@]})) ]
