#!/usr/bin/env bash
# Makes sure a PostgreSQL 15 server is available and prints its URL.
#
#   scripts/pg.sh start [--dir DIR] [--port PORT]   start (creating if needed); prints DATABASE_URL
#   scripts/pg.sh stop  [--dir DIR]                 stop the cluster
#   scripts/pg.sh restart [--dir DIR]               restart a running cluster (tests use it)
#   scripts/pg.sh url   [--dir DIR] [--owner]       print the service's URL (or the schema owner's)
#   scripts/pg.sh status [--dir DIR]
#   scripts/pg.sh destroy --dir DIR                 stop and delete a (throwaway) cluster
#
# Two logins (issue 9): `subsidy_owner` owns the database and runs the migrations; `subsidy`, a
# member of `subsidy_service`, is what `serve`, `daemon` and the commands use — it owns nothing
# and is granted only what sql/011_roles.sql grants. `start` and `url` print the service's URL,
# `url --owner` the owner's.
#
# If DATABASE_URL is set, `start` and `url` print it (DATABASE_OWNER_URL with --owner) and touch
# nothing. Otherwise the cluster lives in the project's git-ignored `.pg/` folder (DIR), listens
# on 127.0.0.1 only, and has generated passwords kept in DIR/password and DIR/owner-password. Debian's PostgreSQL 15 is installed when its binaries
# are missing. As root, the server runs as the `postgres` user. Running `start` again is harmless.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command=${1:-start}
shift || true
dir="$here/.pg"
port=${PGPORT_LOCAL:-54329}
owner_url=false
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --owner) owner_url=true; shift ;;
    *) echo "pg.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
database=subsidy
user=subsidy
owner=subsidy_owner

log() { echo "pg.sh: $*" >&2; }

if [ -n "${DATABASE_URL:-}" ] && { [ "$command" = start ] || [ "$command" = url ]; }; then
  if $owner_url; then echo "${DATABASE_OWNER_URL:-$DATABASE_URL}"; else echo "$DATABASE_URL"; fi
  exit 0
fi

find_bin() {
  local candidate
  for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

ensure_binaries() {
  if bin=$(find_bin); then return 0; fi
  log "PostgreSQL binaries not found; installing Debian's postgresql-15"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  # Installing must not start Debian's own cluster on 5432: policy-rc.d refuses service starts.
  if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo apt-get install -y -qq postgresql-15 >&2 || $sudo apt-get install -y -qq postgresql >&2
  bin=$(find_bin) || { log "PostgreSQL installation failed"; exit 1; }
}

# Runs a command as the cluster's owner: `postgres` when we are root (PostgreSQL refuses to run
# as root), else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# As root the data folder must be reachable by `postgres`. A clone under a private home folder is
# not, so the cluster then lives under /var/tmp and the project folder holds a link to it.
prepare_dir() {
  mkdir -p "$(dirname "$dir")"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    if [ ! -e "$dir" ] && ! runuser -u postgres -- test -x "$(dirname "$dir")"; then
      local key
      key=$(printf '%s' "$dir" | sha256sum | cut -c1-12)
      local real="/var/tmp/subsidyledger-pg-$key"
      mkdir -p "$real"
      ln -sfn "$real" "$dir"
    fi
    mkdir -p "$dir"
    chown postgres: "$(readlink -f "$dir")"
  else
    mkdir -p "$dir"
  fi
  chmod 700 "$(readlink -f "$dir")"
}

data() { echo "$(readlink -f "$dir")/data"; }

url() {
  local password port_used login=$user file=password
  if $owner_url; then login=$owner; file=owner-password; fi
  password=$(cat "$(readlink -f "$dir")/$file")
  port_used=$(cat "$(readlink -f "$dir")/port")
  echo "postgres://$login:$password@127.0.0.1:$port_used/$database?sslmode=disable"
}

running() { [ -f "$(data)/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$(data)" status >/dev/null 2>&1; }

# The server's resource settings, from this machine's memory, in DATA/subsidy.conf (included by
# postgresql.conf): PostgreSQL's defaults (128 MB of shared buffers, 4 MB of work memory, JIT on)
# suit a laptop's scratch database, not 3.6 million interest records. Measured at province scale
# (docs/SCALE.md): re-sending a bank's month of 37,538 records went from 4.6 s to 3.7 s with these.
# A DBA's own values win: set PG_SHARED_BUFFERS, PG_WORK_MEM, or edit postgresql.auto.conf
# (ALTER SYSTEM), which PostgreSQL reads after this file. Rewritten at each start; a running
# server whose file changed is restarted (shared_buffers needs it) and says so.
tune() {
  local real=$1 mem_mb shared cache conf new wal_compression=on
  # lz4 where the server is built with it: the first change of each page after a checkpoint writes
  # the whole page to the WAL, and pglz compressing those images took half of a nation upload's
  # time after a checkpoint (100,000 records re-sent: 12.0 s with pglz, 5.9-6.0 s with lz4, 6.2 s
  # uncompressed with twice the WAL).
  "$bin/pg_config" --configure 2>/dev/null | grep -q -- "--with-lz4" && wal_compression=lz4
  mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
  shared=$(( mem_mb / 4 )); [ "$shared" -gt 8192 ] && shared=8192; [ "$shared" -lt 128 ] && shared=128
  cache=$(( mem_mb * 3 / 4 )); [ "$cache" -lt 512 ] && cache=512
  conf="$(data)/subsidy.conf"
  new=$(cat <<CONF
# Written by scripts/pg.sh from this machine's memory ($mem_mb MB); rewritten at each start.
shared_buffers = '${PG_SHARED_BUFFERS:-${shared}MB}'
effective_cache_size = '${cache}MB'
work_mem = '${PG_WORK_MEM:-32MB}'
maintenance_work_mem = '512MB'
max_wal_size = '8GB'
wal_compression = ${wal_compression}
# Solid-state storage: a random page costs little more than a sequential one.
random_page_cost = 1.1
effective_io_concurrency = 200
# JIT compiles a batch's large queries for longer than they run (hundreds of ms each).
jit = off
CONF
)
  grep -q "^include_if_exists = 'subsidy.conf'" "$(data)/postgresql.conf" \
    || echo "include_if_exists = 'subsidy.conf'" | as_owner tee -a "$(data)/postgresql.conf" >/dev/null
  if [ "$(cat "$conf" 2>/dev/null)" != "$new" ]; then
    echo "$new" | as_owner tee "$conf" >/dev/null
    if running; then
      log "resource settings changed ($conf): restarting the server"
      as_owner "$bin/pg_ctl" -D "$(data)" -l "$real/server.log" -w -t 60 restart >/dev/null
    fi
  fi
}

start() {
  ensure_binaries
  prepare_dir
  local real
  real=$(readlink -f "$dir")
  if [ ! -f "$(data)/PG_VERSION" ]; then
    log "creating a cluster in $dir"
    head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$real/password"
    echo "$port" > "$real/port"
    chmod 600 "$real/password"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$real/password" "$real/port"
    as_owner "$bin/initdb" -D "$(data)" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$real'"
      echo "fsync = ${PG_FSYNC:-on}"
      echo "max_connections = 200"
    } | as_owner tee -a "$(data)/postgresql.conf" >/dev/null
  fi
  port=$(cat "$real/port")
  tune "$real"
  if ! running; then
    as_owner "$bin/pg_ctl" -D "$(data)" -l "$real/server.log" -w -t 60 start >/dev/null \
      || { log "the server did not start; see $real/server.log"; tail -20 "$real/server.log" >&2; exit 1; }
  fi
  # Roles and database, created once; the passwords come from the cluster's password files. A
  # cluster made before the roles were split (the service login owned everything) is converted.
  if [ ! -f "$real/owner-password" ]; then
    head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$real/owner-password"
    chmod 600 "$real/owner-password"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$real/owner-password"
  fi
  local password owner_password
  password=$(cat "$real/password")
  owner_password=$(cat "$real/owner-password")
  as_owner "$bin/psql" -h "$real" -p "$port" -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT 'CREATE ROLE $owner LOGIN CREATEDB PASSWORD ''$owner_password'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$owner') \gexec
SELECT 'CREATE ROLE subsidy_service NOLOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'subsidy_service') \gexec
SELECT 'CREATE ROLE $user LOGIN PASSWORD ''$password'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$user') \gexec
ALTER ROLE $user NOCREATEDB NOCREATEROLE;
GRANT subsidy_service TO $user;
-- The owner may end the service's sessions (DROP DATABASE … WITH (FORCE) of scratch databases).
GRANT pg_signal_backend TO $owner;
SELECT 'CREATE DATABASE $database OWNER $owner'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$database') \gexec
SQL
  # The older layout: the service login owned the database and its tables.
  if [ "$(as_owner "$bin/psql" -h "$real" -p "$port" -U postgres -d "$database" -qtA -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$database'")" = "$user" ]; then
    log "handing the database's objects from $user to $owner"
    as_owner "$bin/psql" -h "$real" -p "$port" -U postgres -d "$database" -qtA -v ON_ERROR_STOP=1 >/dev/null <<SQL
ALTER DATABASE $database OWNER TO $owner;
REASSIGN OWNED BY $user TO $owner;
SQL
  fi
  url
}

stop() {
  bin=$(find_bin) || exit 0
  [ -e "$dir" ] || exit 0
  if running; then as_owner "$bin/pg_ctl" -D "$(data)" -m fast -w stop >/dev/null; fi
}

case "$command" in
  start) start ;;
  stop) stop ;;
  restart) bin=$(find_bin); running && as_owner "$bin/pg_ctl" -D "$(data)" -m fast -w restart -l "$(readlink -f "$dir")/server.log" >/dev/null ;;
  url) bin=$(find_bin); running || { log "no cluster running in $dir"; exit 1; }; url ;;
  status) bin=$(find_bin) || { echo "not installed"; exit 1; }; if running; then echo "running: $(url)"; else echo "stopped"; exit 1; fi ;;
  destroy)
    [ "$dir" != "$here/.pg" ] || { log "destroy is for throwaway clusters given with --dir"; exit 64; }
    (stop) || true
    real=$(readlink -f "$dir" 2>/dev/null || true)
    rm -rf "$dir"
    [ -n "$real" ] && rm -rf "$real"
    ;;
  *) echo "usage: pg.sh start|stop|restart|url|status|destroy [--dir DIR] [--port PORT]" >&2; exit 64 ;;
esac
