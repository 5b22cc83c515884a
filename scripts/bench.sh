#!/usr/bin/env bash
# Benchmarks at city, province or nation scale, each figure beside plain PostgreSQL doing the
# same work on the same data in the same run; medians of several runs; the report is appended to
# BENCHMARKS.md (and kept in .build/bench-SCALE/report.md).
#
#   scripts/bench.sh [--scale city|province|nation] [--runs N] [--records api|copy] [--keep]
#
# --records api (default below nation): every interest record enters through the bank API.
# --records copy (default at nation): the generator loads the records with COPY, and the ingest
#   figure re-sends one bank's month (up to 100,000 records, each superseding its stored version)
#   through the API.
#
# 1. generate   `subsidy generate --scale S --seed 1 --files DIR`: firms, loans … into a new
#               rehearsal database; the interest records as the banks' CSV files
# 2. ingest     every file through POST /v1/interest-records (release server, all checks), records/s
#               per file, vs `psql \copy` of the same file into a bare table (median of three, psql's \timing)
# 3. batch      zhuangda and xinyidai 2025 computed and stored with explanations (N times: a
#               recomputation replaces the lines; vacuumed between runs) vs plain SQL computing the same per-firm amounts
# 4. approve    submit, approve (four eyes) and export each batch, vs plain SQL writing the same rows
# 5. reconcile  statements paying every exported zhuangda line, one per payment day (`subsidy
#               generate --statements`), imported one by one, vs \copy of the entries + a join on reference
# 6. HTTP       wrk, 64 connections, 10 s: POST /v1/calculate, GET /v1/interest-records with a bank
#               token, GET /health; requests/s, p50, p99
#    and the peak RSS of the server and of every command (measure.py: wait4's ru_maxrss).
#
# Uses the project's PostgreSQL cluster (scripts/pg.sh), wrk from Debian (installed if missing).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
scale=city runs=3 keep=0 records_mode=
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --records) records_mode=$2; shift 2 ;;
    *) echo "usage: scripts/bench.sh [--scale city|province|nation] [--runs N] [--keep]" >&2; exit 2 ;;
  esac
done
case "$scale" in city|province|nation) ;; *) echo "scale: city, province or nation" >&2; exit 2 ;; esac
[ -n "$records_mode" ] || { [ "$scale" = nation ] && records_mode=copy || records_mode=api; }
# wrk from Debian, once per machine (a new machine has no package lists yet: update first).
if ! command -v wrk >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi

scripts/pg.sh start >/dev/null
export DATABASE_URL=${DATABASE_URL:-$(scripts/pg.sh url)}
export DATABASE_OWNER_URL=${DATABASE_OWNER_URL:-$(env -u DATABASE_URL scripts/pg.sh url --owner)}
swift build -c release --product subsidy >&2
bin="$(swift build -c release --show-bin-path)/subsidy"
work="$here/.build/bench-$scale"
rm -rf "$work"; mkdir -p "$work"
export BENCH_LOG="$work/log"
: > "$BENCH_LOG"
note() { echo "note $*" >> "$BENCH_LOG"; echo "  $*" >&2; }
m() { python3 scripts/bench/measure.py "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

name="bench_$scale"
owner_db=$(echo "$DATABASE_OWNER_URL" | sed "s|/[^/?]*?|/$name?|")
db=$(echo "$DATABASE_URL" | sed "s|/[^/?]*?|/$name?|")
psql "$DATABASE_OWNER_URL" -q -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ "$keep" = 1 ] || psql "$DATABASE_OWNER_URL" -q -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" || true
}
trap cleanup EXIT
"$bin" migrate --owner-url "$owner_db" >/dev/null
pw=bench-password-1
SUBSIDY_NEW_PASSWORD=$pw "$bin" init --admin bench --rehearsal --database-url "$db" >/dev/null
for role in clerk approver; do
  SUBSIDY_PASSWORD=$pw SUBSIDY_NEW_PASSWORD=$pw "$bin" user add "$role" --name "$role" --role "$role" --user bench --database-url "$db" >/dev/null
done
# as USER LABEL CMD…: a measured subsidy command acting for USER.
as() { local user=$1 label=$2; shift 2; SUBSIDY_PASSWORD=$pw m "$label" "$bin" "$@" --user "$user" --database-url "$db"; }
timed_sql() {  # timed_sql SQL…: the server-side time of the last statement, in ms
  psql "$owner_db" -qAt -v ON_ERROR_STOP=1 -c '\timing on' "$@" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

echo "== 1. generate ($scale, seed 1)" >&2
if [ "$records_mode" = api ]; then
  as bench cmd_generate generate --scale "$scale" --seed 1 --files "$work/records"
else
  as bench cmd_generate generate --scale "$scale" --seed 1
  mkdir -p "$work/records"
  psql "$owner_db" -q -c "\\copy (SELECT l.loan_no, r.period_from, r.period_to, to_char(r.balance_fen / 100.0, 'FM999999999990.00'),
      to_char(r.paid_fen / 100.0, 'FM999999999990.00'), r.paid_on, '', r.bank_reference
    FROM interest_records r JOIN loans l ON l.id = r.loan_id
    WHERE l.bank_code = 'ICBC' AND r.paid_on >= '2025-06-01' AND r.paid_on < '2025-07-01' AND r.status = 'accepted' LIMIT 100000)
    TO '$work/records/ICBC-2025-06-resent.csv' WITH (FORMAT csv, HEADER true)"
  sed -i '1s/.*/loan_no,period_from,period_to,balance,paid,paid_on,firm_name,bank_reference/' "$work/records/ICBC-2025-06-resent.csv"
fi
# The generator writes millions of rows at once, which a real database gathers over months with
# autovacuum passing behind: vacuumed here (hint bits, visibility map, statistics), so that the
# first upload does not pay for setting hint bits on the whole generated table.
psql "$owner_db" -q -c "VACUUM (ANALYZE)" 2>/dev/null

echo "== 2. ingest: $(ls "$work/records" | wc -l) CSV files through the API ($records_mode)" >&2
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG_LEVEL=warning "$bin" serve --host 127.0.0.1 --port "$port" --no-migrate --no-daemon --database-url "$db" &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
declare -A token
for bank in $(ls "$work/records" | cut -d- -f1 | sort -u); do
  token[$bank]=$(SUBSIDY_PASSWORD=$pw "$bin" bank token create "$bank" --label bench --user bench --database-url "$db" | tail -1)
done
psql "$owner_db" -q -c "CREATE TABLE bench_bare (loan_no text, period_from text, period_to text, balance text, paid text, paid_on text, firm_name text, bank_reference text)"
started=$(date +%s%N)
files=0
for file in "$work"/records/*.csv; do
  bank=$(basename "$file" | cut -d- -f1)
  rows=$(( $(wc -l < "$file") - 1 ))
  result=$(curl -s -o "$work/upload.json" -w '%{http_code} %{time_total}' -X POST -H "Authorization: Bearer ${token[$bank]}" \
    -H 'Content-Type: text/csv' --data-binary @"$file" "http://127.0.0.1:$port/v1/interest-records")
  [ "${result%% *}" = 200 ] || { echo "upload of $file: $result $(head -c 600 "$work/upload.json")" >&2; exit 1; }
  echo "ingest_api_rps $(python3 -c "print($rows / ${result#* })")" >> "$BENCH_LOG"
  # The baseline: the median of three \copy runs of the file, each timed by psql (\timing), so that
  # starting psql and connecting — most of the wall time for a file of 40,000 records, and what
  # varied most between runs — is not counted (the upload's curl reuses the server's pool).
  copy_ms=$(for _ in 1 2 3; do
    timed_sql -c "TRUNCATE bench_bare" -c "\\copy bench_bare FROM '$file' WITH (FORMAT csv, HEADER true)"
  done | sort -n | sed -n 2p)
  echo "ingest_copy_rps $(python3 -c "print($rows / ($copy_ms / 1000))")" >> "$BENCH_LOG"
  files=$((files + 1))
  [ $((files % 20)) -eq 0 ] && echo "  $files files, $(( $(ms_since "$started") / 1000 )) s" >&2
done
note "ingest ($records_mode): $files files through the API in $(( $(ms_since "$started") / 1000 )) s; $(psql "$owner_db" -qAt -c "SELECT count(*) FILTER (WHERE status = 'accepted') || ' records accepted, ' || count(*) FILTER (WHERE status = 'superseded') || ' superseded' FROM interest_records")"
# A year's batches are computed long after the last upload, when autovacuum has passed over the
# records the uploads superseded and inserted (sql/040: after 1 % of the table). Vacuumed here in
# its stead, so that the batches and the plain aggregates below read the same state. Right after
# a re-sent month half of a province table's pages were not all-visible: a zhuangda batch took
# 0.4 s longer (sql/040's figures), and the plain aggregate 2.1-2.2 s against 1.3 s.
psql "$owner_db" -q -c "DROP TABLE bench_bare" -c "VACUUM interest_records" -c "ANALYZE" 2>/dev/null

echo "== 3. batches" >&2
declare -A batch
for program in zhuangda xinyidai; do
  batch[$program]=$(SUBSIDY_PASSWORD=$pw "$bin" batch create --program "$program" --year 2025 --user clerk --database-url "$db" | sed -n 's/^批次 Batch \([0-9]*\):.*/\1/p')
  for run in $(seq 1 "$runs"); do
    # Run 2 on is a recomputation: it replaces the lines the run before stored. Each starts from
    # the same state, as a clerk's recomputation does: the run before's replaced rows vacuumed
    # away, as autovacuum does within a minute of a recomputation leaving half a table dead.
    # Back to back instead, each run also walked every earlier run's dead rows and index entries,
    # and got slower (province zhuangda 10.3 → 11.5 → 12.5 s at 21:13).
    [ "$run" -gt 1 ] && psql "$owner_db" -q -c "VACUUM (ANALYZE) batch_lines, batch_line_items, batch_loan_records, batch_exclusion_sets" 2>/dev/null
    as clerk "batch_${program}_ms" batch compute "${batch[$program]}" 2>/dev/null | tail -1 >&2
  done
  # The same computation storing nothing (试算): reading, the engine and the planner alone, the
  # floor of any computation that reads the records out of the database and runs the rules here.
  for run in $(seq 1 "$runs"); do
    as clerk "trial_${program}_ms" batch compute "${batch[$program]}" --trial 2>/dev/null | tail -1 >&2
  done
done
lpr="JOIN LATERAL (SELECT CASE WHEN l.maturity_date > (l.start_date + interval '5 years')::date THEN x.five_year_pct ELSE x.one_year_pct END AS pct
                  FROM lpr_fixings x WHERE x.published <= l.start_date ORDER BY x.published DESC LIMIT 1) f ON true"
records="JOIN interest_records r ON r.loan_id = l.id AND r.status = 'accepted' AND r.paid_on >= '2025-01-01' AND r.paid_on < '2026-01-01'"
for _ in $(seq 1 "$runs"); do
  # 壮大贷: round(balance × LPR × days / 360), at most paid; × 50 % per loan; 800,000.00 per firm.
  echo "plain_zhuangda_ms $(timed_sql -c 'DROP TABLE IF EXISTS plain_lines' -c "CREATE TABLE plain_lines AS
    SELECT firm_uscc, least(80000000, sum(s))::bigint AS award FROM (
      SELECT l.firm_uscc, round(sum(least(round(r.balance_fen * f.pct * (r.period_to - r.period_from) / 36000.0), r.paid_fen)) * 0.5) AS s
      FROM loans l $lpr $records WHERE l.program = 'zhuangda' GROUP BY l.id, l.firm_uscc) t GROUP BY firm_uscc")" >> "$BENCH_LOG"
  # 新易贷: min(principal × tier rate, paid in the year) per loan; 600,000.00 per firm.
  echo "plain_xinyidai_ms $(timed_sql -c 'DROP TABLE IF EXISTS plain_lines' -c "CREATE TABLE plain_lines AS
    SELECT firm_uscc, least(60000000, sum(a))::bigint AS award FROM (
      SELECT l.firm_uscc, least(round(l.principal_fen * CASE l.tier WHEN 'xinedai' THEN 0.010 WHEN 'touliandai' THEN 0.020 ELSE 0.015 END),
                                sum(r.paid_fen)) AS a
      FROM loans l $records WHERE l.program = 'xinyidai' AND l.principal_fen <= 5000000000 GROUP BY l.id, l.firm_uscc) t GROUP BY firm_uscc")" >> "$BENCH_LOG"
done
psql "$owner_db" -q -c "DROP TABLE IF EXISTS plain_lines"

echo "== 4. approve and export" >&2
for program in zhuangda xinyidai; do
  id=${batch[$program]}
  SUBSIDY_PASSWORD=$pw "$bin" batch submit "$id" --today 2026-01-05 --user clerk --database-url "$db" >/dev/null
  as approver "approve_${program}_ms" batch approve "$id" --today 2026-01-20 >/dev/null
  mkdir -p "$work/export-$program"
  as clerk "export_${program}_ms" batch export "$id" --out "$work/export-$program" >/dev/null
  echo "plain_approve_${program}_ms $(timed_sql -c 'DROP TABLE IF EXISTS plain_journal' -c "CREATE TABLE plain_journal AS
    SELECT l.id, s.side, s.side * l.amount_fen AS amount_fen, l.recipient_uscc FROM batch_lines l, (VALUES (1), (-1)) s(side)
    WHERE l.batch_id = $id AND l.status = 'active' AND l.amount_fen <> 0")" >> "$BENCH_LOG"
  t=$(date +%s%N)
  psql "$owner_db" -q -c "\\copy (SELECT line_no, recipient_uscc, payee_name, payee_account, payee_bank, amount_fen, payment_ref FROM batch_lines WHERE batch_id = $id ORDER BY line_no) TO '$work/plain-export.csv' WITH (FORMAT csv, HEADER true)"
  echo "plain_export_${program}_ms $(ms_since "$t")" >> "$BENCH_LOG"
  psql "$owner_db" -q -c "DROP TABLE IF EXISTS plain_journal"
done

echo "== 5. reconcile" >&2
# A bank's statement comes a day or more after the export, when autovacuum has long passed over
# what computation, approval and export rewrote (every line twice, 80,000 journal entries at
# province). Vacuumed here, so that a statement is not imported alongside autovacuum on the two
# cores (right after export it took 5.4-8.5 s at province, on a vacuumed copy 3.9-4.4 s).
psql "$owner_db" -q -c "VACUUM (ANALYZE) batch_lines, batch_line_items, batch_loan_records, batch_exclusion_sets, batches, journal_entries, journal_lines, accounts, entry_lines" 2>/dev/null
SUBSIDY_PASSWORD=$pw "$bin" generate --statements "${batch[zhuangda]}" --files "$work/statements" --paid-after 2026-01-21 --days 3 \
  --user clerk --database-url "$db" > "$work/statements.txt"
psql "$owner_db" -q -c "CREATE TABLE bench_entries (fen bigint, ref text)"
for file in $(cat "$work/statements.txt"); do
  as clerk reconcile_ms statement import "$file" | tail -2 >&2
  awk -F'D' '/^:61:/ { split($2, a, "N"); gsub(",", "", a[1]); fen = a[1] } /^:86:\/REMI\// { sub(/^:86:\/REMI\//, ""); sub(/\r$/, ""); print fen "\t" $0 }' \
    "$file" > "$work/entries.tsv"
  t=$(date +%s%N)
  psql "$owner_db" -qAt -c "TRUNCATE bench_entries" -c "\\copy bench_entries FROM '$work/entries.tsv'" \
    -c "SELECT count(*) FROM bench_entries e JOIN batch_lines l ON l.payment_ref = e.ref AND l.amount_fen = e.fen" > /dev/null
  echo "plain_reconcile_ms $(ms_since "$t")" >> "$BENCH_LOG"
done
note "reconcile: $(psql "$owner_db" -qAt -c "SELECT count(*) FILTER (WHERE status = 'paid') || ' of ' || count(*) FILTER (WHERE amount_fen > 0) FROM batch_lines WHERE batch_id = ${batch[zhuangda]}") payable zhuangda lines paid after $(wc -l < "$work/statements.txt") statements"
note "ledger: $("$bin" ledger verify --database-url "$db" 2>&1 | tail -1)"

echo "== 6. HTTP (wrk, 64 connections, 10 s)" >&2
# The HTTP figures share the two cores with PostgreSQL: wait (at most 2 minutes) until no
# autovacuum worker is busy with the tables the batches and statements just wrote.
for _ in $(seq 1 120); do
  [ "$(psql "$owner_db" -qAt -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ] && break
  sleep 1
done
cat > "$work/calculate.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$here/scripts/demo/calc-zhuangda.json", "r"); wrk.body = f:read("*a"); f:close()
LUA
to_ms() { python3 -c "import sys; v = sys.argv[1]; print(float(v[:-2]) if v.endswith('ms') else float(v[:-2]) / 1000 if v.endswith('us') else float(v[:-1]) * 1000)" "$1"; }
bank=$(ls "$work/records" | head -1 | cut -d- -f1)
for _ in $(seq 1 "$runs"); do
  for target in calculate records health; do
    case $target in
      calculate) out=$(wrk -t2 -c64 -d10s --latency -s "$work/calculate.lua" "http://127.0.0.1:$port/v1/calculate") ;;
      records) out=$(wrk -t2 -c64 -d10s --latency -H "Authorization: Bearer ${token[$bank]}" "http://127.0.0.1:$port/v1/interest-records?limit=100") ;;
      health) out=$(wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$port/health") ;;
    esac
    if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; exit 1; fi
    echo "http_${target}_rps $(echo "$out" | awk '/^Requests\/sec/ { print $2 }')" >> "$BENCH_LOG"
    echo "http_${target}_p50 $(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")" >> "$BENCH_LOG"
    echo "http_${target}_p99 $(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")" >> "$BENCH_LOG"
  done
done
echo "server 0 $(awk '/^VmHWM/ { print $2 }' "/proc/$server/status")" >> "$BENCH_LOG"
note "database size after the run: $(psql "$owner_db" -qAt -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"

python3 scripts/bench/report.py "$BENCH_LOG" "$scale" "$work/report.md"
{ echo; date -u +"Run of %Y-%m-%d %H:%M UTC: \`scripts/bench.sh --scale $scale --runs $runs --records $records_mode\`"; echo; sed "s/^## Scale/### Scale/" "$work/report.md"; } >> BENCHMARKS.md
echo "report appended to BENCHMARKS.md ($work/report.md)" >&2
