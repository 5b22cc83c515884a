# Sourced by scripts/contract.sh and scripts/browser.sh: a scratch database in the cluster that
# DATABASE_URL and DATABASE_OWNER_URL name, migrated, dropped on exit with the server started
# by `scratch_serve`.
#
#   scratch_database PREFIX      sets bin, name, owner_db, service_db; migrates
#   scratch_serve [ARGS…]        serves it on a free loopback port (sets port, server); waits for /health

scratch_database() {
  bin="$(swift build --show-bin-path)/subsidy"
  [ -x "$bin" ] || swift build --product subsidy >&2
  name="$1_$$"
  owner_db=$(echo "$DATABASE_OWNER_URL" | sed "s|/[^/?]*?|/$name?|")
  service_db=$(echo "$DATABASE_URL" | sed "s|/[^/?]*?|/$name?|")
  psql "$DATABASE_OWNER_URL" -q -c "CREATE DATABASE $name"
  server=""
  trap scratch_cleanup EXIT
  "$bin" migrate --owner-url "$owner_db" >/dev/null
}

scratch_cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  psql "$DATABASE_OWNER_URL" -q -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" || true
}

scratch_serve() {
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  LOG_LEVEL=${LOG_LEVEL:-error} "$bin" serve --host 127.0.0.1 --port "$port" --no-migrate --no-daemon --database-url "$service_db" "$@" &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
}
