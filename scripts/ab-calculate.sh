#!/usr/bin/env bash
# Alternates release builds of the server on the calculator: for each round and each binary,
# `subsidy serve` on the project's cluster, a 3 s warm-up, then `wrk -t2 -c64 -d10s --latency`
# on POST /v1/calculate with the CALCULATOR.md request, printing requests/s, p50 and p99.
#   scripts/ab-calculate.sh ROUNDS BINARY...    (binaries copied aside after `swift build -c release`)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rounds=$1; shift
db=$("$here/scripts/pg.sh" url)
port=${PORT:-8181}
lua=$(mktemp --suffix .lua)
trap 'rm -f "$lua"' EXIT
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$here/scripts/demo/calc-zhuangda.json", "r"); wrk.body = f:read("*a"); f:close()
LUA
for round in $(seq 1 "$rounds"); do
  for bin in "$@"; do
    LOG_LEVEL=warning "$bin" serve --host 127.0.0.1 --port "$port" --no-migrate --no-daemon --database-url "$db" > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.1; done
    wrk -t2 -c64 -d3s -s "$lua" "http://127.0.0.1:$port/v1/calculate" > /dev/null
    out=$(wrk -t2 -c64 -d10s --latency -s "$lua" "http://127.0.0.1:$port/v1/calculate")
    echo "$round $bin $(echo "$out" | awk '/^Requests\/sec/ { r = $2 } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } /Non-2xx/ { bad = $0 } END { print r " requests/s, p50 " p50 ", p99 " p99 " " bad }')"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
