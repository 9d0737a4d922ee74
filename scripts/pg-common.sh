# Shared by the scripts that run PostgreSQL for development and tests. Sourced, not executed.
#
# PostgreSQL's initdb and postgres refuse to run as root, and CI and many containers run as root.
# When we are root we run the cluster as an unprivileged system user (`calltrail-pg`), created on
# first use; otherwise the cluster runs as the invoking user.

PG_SERVICE_USER=${PG_SERVICE_USER:-calltrail-pg}

log() { printf '[calltrail] %s\n' "$*" >&2; }

# Puts initdb/pg_ctl/postgres on PATH, installing Debian's postgresql package when they are missing.
pg_find_binaries() {
  if ! command -v initdb >/dev/null 2>&1 || ! command -v pg_ctl >/dev/null 2>&1; then
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
      log "PostgreSQL server binaries not found: installing the postgresql package"
      local sudo=""
      [ "$(id -u)" -ne 0 ] && sudo="sudo"
      $sudo apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
      dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    PATH="$dir:$PATH"
    export PATH
  fi
  command -v initdb >/dev/null && command -v pg_ctl >/dev/null || {
    log "initdb/pg_ctl still not found after install"
    return 1
  }
}

# Runs a command as the cluster's owner.
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PG_SERVICE_USER" -- env PATH="$PATH" "$@"
  else
    "$@"
  fi
}

pg_ensure_service_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  if ! id "$PG_SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_SERVICE_USER"
  fi
}

# pg_init_cluster DATADIR: creates a cluster (trust auth on loopback only: development and tests).
pg_init_cluster() {
  local data=$1
  mkdir -p "$data"
  [ "$(id -u)" -eq 0 ] && chown "$PG_SERVICE_USER" "$data"
  chmod 700 "$data"
  as_pg_user initdb -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null 2>&1 ||
    as_pg_user initdb -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null
}

# pg_start DATADIR PORT LOGFILE [extra postgres -c options...]
pg_start() {
  local data=$1 port=$2 logfile=$3
  shift 3
  local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c max_connections=300"
  local o
  for o in "$@"; do opts="$opts -c $o"; done
  touch "$logfile"
  [ "$(id -u)" -eq 0 ] && chown "$PG_SERVICE_USER" "$logfile"
  as_pg_user pg_ctl -D "$data" -l "$logfile" -o "$opts" -w -t 60 start >/dev/null || {
    log "PostgreSQL failed to start; its log:"
    tail -n 30 "$logfile" >&2
    return 1
  }
}

# pg_start_replica PRIMARY_PORT DATADIR PORT LOGFILE [extra postgres -c options...]: a streaming
# replica of the cluster on PRIMARY_PORT, copied with pg_basebackup -R (which writes its
# primary_conninfo and standby.signal). initdb's pg_hba already lets loopback connections
# replicate, and wal_level=replica is the default; waits until it accepts read-only connections.
pg_start_replica() {
  local primary_port=$1 data=$2 port=$3 logfile=$4
  shift 4
  as_pg_user pg_basebackup -h 127.0.0.1 -p "$primary_port" -U postgres -D "$data" -R \
    --wal-method=stream --checkpoint=fast >/dev/null || {
    log "pg_basebackup from 127.0.0.1:$primary_port failed"
    return 1
  }
  pg_start "$data" "$port" "$logfile" "$@"
}

pg_is_running() {
  as_pg_user pg_ctl -D "$1" status >/dev/null 2>&1
}

pg_stop() {
  as_pg_user pg_ctl -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}

# A directory the cluster owner can reach: the repository's own .data when the unprivileged user can
# traverse to it, otherwise a per-repository folder under /var/lib.
pg_local_data_dir() {
  local repo=$1
  local wanted="$repo/.data/postgres"
  if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$repo/.data"
    if ! runuser -u "$PG_SERVICE_USER" -- test -x "$repo/.data"; then
      local key
      key=$(printf '%s' "$repo" | sha256sum | cut -c1-12)
      wanted="/var/lib/calltrail-dev/$key/postgres"
      mkdir -p "$(dirname "$wanted")"
      chown "$PG_SERVICE_USER" "$(dirname "$wanted")"
    fi
  fi
  printf '%s' "$wanted"
}
