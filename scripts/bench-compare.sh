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

out="$repo/.data/compare/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
# A revision's worktree lives outside this repository: inside it, cargo would take the revision's
# packages for members of this tree's workspace and refuse to build them.
trees=$(mktemp -d "${TMPDIR:-/tmp}/calltrail-compare.XXXXXX")
worktrees=()
cleanup() {
  local w
  for w in "${worktrees[@]}"; do git -C "$repo" worktree remove --force "$w" >/dev/null 2>&1 || true; done
  rm -rf "$trees"
}
trap cleanup EXIT

# Each variant: its name, the directory whose scripts/bench-ingest.sh runs it, its target directory.
names=() dirs=() targets=() settings=()
for spec in "$@"; do
  head=${spec%%:*}
  setting=""
  [ "$head" != "$spec" ] && setting=${spec#*:}
  name=${head%%@*}
  if ! [[ $name =~ ^[A-Za-z0-9._-]+$ ]]; then
    echo "bench-compare: a variant's name is letters, digits, '.', '_' or '-': $name" >&2
    exit 2
  fi
  dir=$repo
  target=${CARGO_TARGET_DIR:-$repo/target}
  if [ "$name" != "$head" ]; then
    rev=${head#*@}
    commit=$(git -C "$repo" rev-parse --verify --quiet "$rev^{commit}") ||
      { echo "bench-compare: $rev is not a revision of this repository" >&2; exit 2; }
    dir="$trees/$name"
    git -C "$repo" worktree add --detach --quiet "$dir" "$commit"
    worktrees+=("$dir")
    # Its own target directory, kept between comparisons: a revision builds once.
    target="$repo/.data/compare/target-${commit:0:12}"
  fi
  names+=("$name") dirs+=("$dir") targets+=("$target") settings+=("$setting")
done

# The summary is printed by this tree's load generator, whatever the variants' revisions.
cargo build --release --quiet -p calltrail-loadgen
compare_bin="${CARGO_TARGET_DIR:-$repo/target}/release/calltrail-loadgen"

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
    # The group run's result line, tagged with its variant and round.
    cat "$run_out"/results-*.jsonl 2>/dev/null | grep '^{"label":"group",' |
      sed "s/^{/{\"variant\":\"$name\",\"round\":$round,/" >>"$out/runs.jsonl" || true
  done
done

status=0
"$compare_bin" compare "$out/runs.jsonl" || status=$?
runs_done=$(wc -l <"$out/runs.jsonl" 2>/dev/null || echo 0)
echo "[compare] $runs_done of $((rounds * ${#names[@]})) runs measured; logs and results in $out" >&2
[ "$status" -eq 0 ] && [ "$runs_done" -eq $((rounds * ${#names[@]})) ]
