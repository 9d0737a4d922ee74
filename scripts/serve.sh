#!/usr/bin/env bash
# Runs calltrail locally. When no database is configured (neither DATABASE_URL nor
# CALLTRAIL__DATABASE__URL), it starts or reuses the development PostgreSQL first.
# Extra arguments go to `calltrail serve`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
if [ -z "${DATABASE_URL:-}" ] && [ -z "${CALLTRAIL__DATABASE__URL:-}" ]; then
  DATABASE_URL=$("$repo/scripts/dev-postgres.sh")
  export DATABASE_URL
fi
export CALLTRAIL_ENVIRONMENT=${CALLTRAIL_ENVIRONMENT:-local}
cargo build --release --quiet -p calltrail
exec "$repo/target/release/calltrail" serve "$@"
