#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets (fuzz/): one target, or every target in turn, for a number
# of seconds each (default 600). Installs the pinned cargo-fuzz when it is missing.
#
#   scripts/fuzz.sh                      # every target, 10 minutes each
#   scripts/fuzz.sh callback_parser 60   # one target, one minute
#   scripts/fuzz.sh all 30               # every target, 30 seconds each
#
# The stable toolchain is enough: libFuzzer's coverage instrumentation is a stable codegen option,
# and the address sanitizer (nightly only) is left off (`--sanitizer none`); the targets are safe
# Rust, whose memory errors are the compiler's to rule out. Runs at the lowest CPU priority, so it
# can share a machine with builds.
#
# Each target's corpus grows in fuzz/corpus/<target> (not committed), seeded from the committed
# fuzz/seeds/<target>. A crash or failed property stops the run and leaves the input that caused it
# in fuzz/artifacts/<target>/; replay it with
#   cargo fuzz run --sanitizer none <target> fuzz/artifacts/<target>/<file>
# and keep it as a regression test of the main suite once fixed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

CARGO_FUZZ_VERSION=0.12.0
TARGETS=(callback_parser eventgrid_parser webhook_signature jwt query_secret api_params)

target=${1:-all}
seconds=${2:-600}
case "$seconds" in
  '' | *[!0-9]*) echo "seconds must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
if [ "$target" = all ]; then
  targets=("${TARGETS[@]}")
else
  if [[ " ${TARGETS[*]} " != *" $target "* ]]; then
    echo "unknown target '$target'; the targets are: all ${TARGETS[*]}" >&2
    exit 2
  fi
  targets=("$target")
fi

if ! cargo install --list | grep -qx "cargo-fuzz v$CARGO_FUZZ_VERSION:"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install --locked --quiet "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi

for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
  echo "fuzzing $t for ${seconds}s" >&2
  # -rss_limit_mb: a target that needs more than this holds too much for one request.
  nice -n 19 cargo fuzz run --sanitizer none "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1
done
