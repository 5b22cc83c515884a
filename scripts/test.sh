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

# A free port below the kernel's ephemeral range: no outgoing connection or server bound to port 0
# can be handed it between this choice and the cluster's start.
free_port() {
  if command -v python3 >/dev/null; then
    python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randrange(10000, max(low, 12000))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port)); print(port); break
    except OSError:
        pass
    finally:
        s.close()
'
  else
    echo $((20000 + RANDOM % 10000))
  fi
}

# The tests that started (◇ Test "…" started.) and neither passed nor failed, from a log of
# `swift test`.
unfinished() {
  awk '
    /^◇ Test .* started\.$/ && !/^◇ Test (case passing |run started)/ { name = $0; sub(/^◇ Test /, "", name); sub(/ started\.$/, "", name); open[name] = 1 }
    /^(✔|✘) Test .* (passed|failed) after / { name = $0; sub(/^(✔|✘) Test /, "", name); sub(/ (with [0-9]+ test cases? )?(passed|failed) after .*$/, "", name); delete open[name] }
    END { for (name in open) print "  " name }
  ' "$1"
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
trap cleanup EXIT
# Stopped from outside (CI's time limit, Ctrl-C): clean up and stop, rather than go on to the
# contract run against a cluster the cleanup has just removed.
trap 'exit 143' TERM
trap 'exit 130' INT

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
# The suite takes 1-3 minutes; a test that hangs is stopped after SUBSIDY_TEST_TIME_LIMIT seconds
# (20 minutes unless set) and named, so that a run always ends, and says why, well within CI's
# time. Line-buffered (stdbuf), so that the log holds every line written before the stop.
log="$here/.build/swift-test.log"
limit=${SUBSIDY_TEST_TIME_LIMIT:-1200}
set +e
DATABASE_URL="$url" DATABASE_OWNER_URL="$owner_url" SUBSIDY_TEST_REQUIRE_DB=1 \
  timeout --kill-after=30 "$limit" stdbuf -oL -eL swift test --skip-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ $status -eq 124 ] || [ $status -eq 137 ]; then
  echo "test.sh: swift test was stopped after ${limit} s; the tests that started and did not end:" >&2
  unfinished "$log" >&2
  # swift test runs the test bundle in a process group of its own, which the timeout does not
  # reach: stop the bundle of this checkout's build and what it started (a daemon; a pg.sh,
  # which leads a process group of its own), before the cleanup removes the clusters.
  for bundle in $(pgrep -f "^$here/\.build/.*/SubsidyLedgerPackageTests" || true); do
    for child in $(pgrep -P "$bundle" || true); do
      kill -KILL -- "-$child" 2>/dev/null || true
      kill -KILL "$child" 2>/dev/null || true
    done
    kill -KILL "$bundle" 2>/dev/null || true
  done
fi

# The bank API against its own contract (schemathesis, all checks, deterministic), on a real
# server and database — skipped when a filter picks some tests only. Each of the two has 20
# minutes (status 124 if stopped; it takes 1-4).
if [ $# -eq 0 ]; then
  contract=0
  DATABASE_URL="$url" DATABASE_OWNER_URL="$owner_url" timeout --kill-after=30 1200 scripts/contract.sh || contract=$?
  [ $contract -eq 0 ] || { echo "test.sh: the contract run (scripts/contract.sh) failed" >&2; [ $status -ne 0 ] || status=$contract; }
  # The web application in headless Chromium, the whole journey (scripts/browser.sh installs
  # Debian's chromium, chromium-driver and CJK fonts, and Selenium from PyPI).
  browser=0
  DATABASE_URL="$url" DATABASE_OWNER_URL="$owner_url" timeout --kill-after=30 1200 scripts/browser.sh || browser=$?
  [ $browser -eq 0 ] || { echo "test.sh: the browser journey (scripts/browser.sh) failed" >&2; [ $status -ne 0 ] || status=$browser; }
fi
if [ $status -ne 0 ]; then
  echo "test.sh: failed (status $status); the Swift tests' issues, from $log:" >&2
  grep -E -A4 "recorded an issue|✘ Test .* failed|Fatal error|Crash|signal [0-9]" "$log" | grep -v "^.* info " | head -80 >&2 || true
fi
exit $status
