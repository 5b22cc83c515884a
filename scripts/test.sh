#!/usr/bin/env bash
# Runs the whole test suite against a throwaway PostgreSQL cluster: starts one (installing
# PostgreSQL if needed) on a free local port, runs `swift test` with DATABASE_URL pointing at it,
# then the bank API's contract run and the browser journey of the web application, stops and
# deletes the cluster, and exits with the tests' status. Arguments go to `swift test`
# (e.g. `scripts/test.sh --filter Migration`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

command -v swift >/dev/null || { echo "test.sh: swift is not on PATH (expected /opt/swift on this machine kind)" >&2; exit 1; }

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    echo $((55000 + RANDOM % 5000))
  fi
}

cluster="$here/.pg-test-$$"
# The throwaway cluster, and any a test made for itself (the PostgreSQL-restart test) and could
# not remove because it was killed.
cleanup() {
  scripts/pg.sh destroy --dir "$cluster" >/dev/null 2>&1 || true
  for extra in "$here"/.pg-test-restart-*; do
    [ -e "$extra" ] && scripts/pg.sh destroy --dir "$extra" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT INT TERM

# The suite always gets its own cluster, whatever DATABASE_URL says, so it never touches a real
# database. fsync is off: the cluster is thrown away.
url=$(env -u DATABASE_URL PG_FSYNC=off scripts/pg.sh start --dir "$cluster" --port "$(free_port)")
owner_url=$(env -u DATABASE_URL scripts/pg.sh url --owner --dir "$cluster")
echo "test.sh: throwaway cluster at ${url%%:*}://…@127.0.0.1 ($cluster)"

# Build everything first: the CLI tests run the `subsidy` binary itself.
swift build --build-tests
status=0
# Tests create their databases as the schema owner and run the service as its own role. The
# output is also kept, so that the failures can be repeated at the very end (CI shows the tail).
log="$here/.build/swift-test.log"
set +e
DATABASE_URL="$url" DATABASE_OWNER_URL="$owner_url" SUBSIDY_TEST_REQUIRE_DB=1 swift test --skip-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# The bank API against its own contract (schemathesis, all checks, deterministic), on a real
# server and database — skipped when a filter picks some tests only.
if [ $# -eq 0 ]; then
  contract=0
  DATABASE_URL="$url" DATABASE_OWNER_URL="$owner_url" scripts/contract.sh || contract=$?
  [ $contract -eq 0 ] || { echo "test.sh: the contract run (scripts/contract.sh) failed" >&2; [ $status -ne 0 ] || status=$contract; }
  # The web application in headless Chromium, the whole journey (scripts/browser.sh installs
  # Debian's chromium, chromium-driver and CJK fonts, and Selenium from PyPI).
  browser=0
  DATABASE_URL="$url" DATABASE_OWNER_URL="$owner_url" scripts/browser.sh || browser=$?
  [ $browser -eq 0 ] || { echo "test.sh: the browser journey (scripts/browser.sh) failed" >&2; [ $status -ne 0 ] || status=$browser; }
fi
if [ $status -ne 0 ]; then
  echo "test.sh: failed (status $status); the Swift tests' issues, from $log:" >&2
  grep -E -A4 "recorded an issue|✘ Test .* failed|Fatal error|Crash|signal [0-9]" "$log" | grep -v "^.* info " | head -80 >&2 || true
fi
exit $status
