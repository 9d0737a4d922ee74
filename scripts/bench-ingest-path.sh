#!/usr/bin/env bash
# Request-path microbenchmark (benches/ingest_path.rs): CPU per event of verify, parse and the
# handler's per-request work, without a server or a database. Prints ns per event; with
# `--instructions` it also runs once under callgrind (valgrind) and prints instructions per event
# for each stage, a figure that does not move with the machine's load.
#
#   scripts/bench-ingest-path.sh [--instructions] [rounds]     (rounds default 200; 3 under callgrind)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

instructions=0
rounds=""
for arg in "$@"; do
  case "$arg" in
    --instructions) instructions=1 ;;
    *) rounds=$arg ;;
  esac
done

bin=$(cargo bench -p calltrail --bench ingest_path --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "ingest_path" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "could not build the benchmark" >&2; exit 1; }

report=$("$bin" --bench "${rounds:-200}")
echo "$report"
events=$(head -n 1 <<<"$report" | sed -E 's/^[0-9]+ deliveries, ([0-9]+) events.*/\1/')

if [ "$instructions" = 1 ]; then
  command -v valgrind >/dev/null || { echo "--instructions needs valgrind (apt-get install valgrind)" >&2; exit 1; }
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  n=${rounds:-3}
  echo
  echo "instructions (callgrind, $n rounds + 1 warm-up round per stage):"
  # The SHA-256 inside each stage: valgrind does not emulate the CPU's SHA extensions, so the hashes
  # run in software here, at several times the instructions the real CPU needs.
  for stage in verify parse request service; do
    valgrind --tool=callgrind --toggle-collect="*${stage}_round*" --callgrind-out-file="$out/$stage.out" \
      "$bin" --bench "$n" >/dev/null 2>&1
    callgrind_annotate --auto=no "$out/$stage.out" 2>/dev/null | python3 -c '
import re, sys
stage, events, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
total = sha = 0
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
    if not m:
        continue
    count = int(m.group(1).replace(",", ""))
    if "PROGRAM TOTALS" in m.group(2):
        total = count
    elif "sha256::compress256" in m.group(2):
        sha += count
per = lambda n: n / events / (rounds + 1)
print(f"{stage:<8} {per(total):>9,.0f} instructions/event ({per(sha):,.0f} of them software SHA-256)")
' "$stage" "$events" "$n"
  done
fi
