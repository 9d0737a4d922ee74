#!/usr/bin/env bash
# The fault suite (tests/fault/): the real binary under load through kill -9, database outages,
# SIGTERM, a duplicate storm across two instances and a stalled or slow database, on a throwaway
# PostgreSQL, printing each scenario's figures. The short form (under two minutes) is also part of
# scripts/test.sh; --long runs the long form (about four minutes). Further arguments filter the
# scenarios by test name, e.g. scripts/fault.sh --long outage.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--long" ]; then
  export CALLTRAIL_FAULT_LONG=1
  shift
fi
exec scripts/test.sh --test fault -- --nocapture "$@"
