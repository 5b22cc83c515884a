#!/usr/bin/env bash
# Benchmarks, each reported next to plain PostgreSQL doing the same work on the same data.
#
#   calc: the 壮大贷 calculator on 100,000 interest records (release build), against one SQL
#         query computing round(balance × LPR × days / 360), min with paid, per-loan sums and the
#         50 % ratio over the same rows in a bare table (data loaded by \copy beforehand).
#
# Usage: scripts/bench.sh [RECORDS]     (uses DATABASE_URL, else the project cluster)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
records=${1:-100000}
# The benchmark databases are scratch: made, migrated and loaded by the schema's owner, each
# initialised as a rehearsal database whose administrator `bench` runs the commands.
scripts/pg.sh start >/dev/null
url=$(scripts/pg.sh url --owner)

swift build -c release --product subsidy >&2
bin="$(swift build -c release --show-bin-path)/subsidy"
python3 scripts/bench/gen_calc.py "$records" /tmp/bench-calc.json /tmp/bench-records.tsv

best() { sort -n | head -1; }
# BENCH_ONLY=calc|batch|upload|reconcile runs one section.
want() { [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = "$1" ]; }
admin_url=$url
if want calc; then
echo "== calc: $records interest records (best of 5)"
for _ in 1 2 3 4 5; do "$bin" calc /tmp/bench-calc.json --timing 2>&1 >/dev/null | sed -n 's/.*compute_ms=\([0-9.]*\).*/\1/p'; done | best > /tmp/bench-compute
for _ in 1 2 3 4 5; do
  start=$(date +%s%N); "$bin" calc /tmp/bench-calc.json > /dev/null; end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
done | best > /tmp/bench-total
"$bin" calc /tmp/bench-calc.json --timing 2>&1 >/dev/null | tail -1

psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
DROP TABLE IF EXISTS bench_records;
CREATE TABLE bench_records (loan text, id text, period_from date, period_to date, balance_fen bigint, paid_fen bigint);
\copy bench_records FROM '/tmp/bench-records.tsv'
ANALYZE bench_records;
SQL
# The same arithmetic in SQL: 1-year LPR 3.10 % fixed at the loans' start (January 2025),
# round half away from zero (numeric round does that), per-loan sum × 50 %.
query="SELECT sum(s) FROM (SELECT round(sum(least(round(balance_fen * 3.10 * (period_to - period_from) / 36000.0), paid_fen)) * 0.5) AS s FROM bench_records GROUP BY loan) t"
for _ in 1 2 3 4 5; do
  psql "$url" -qAt -c '\timing on' -c "$query" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
done | best > /tmp/bench-pg
compute=$(cat /tmp/bench-compute); total=$(cat /tmp/bench-total); pg=$(cat /tmp/bench-pg)
echo "engine compute: ${compute} ms; whole command (parse + compute + JSON out): ${total} ms"
echo "plain PostgreSQL, same arithmetic over the same rows: ${pg} ms"
python3 -c "print(f'ratio engine compute / PostgreSQL query: {float(\"$compute\") / float(\"$pg\"):.2f}; whole command / PostgreSQL query: {float(\"$total\") / float(\"$pg\"):.2f}')"
fi
if want batch; then

# batch: computing a 壮大贷 batch of 10,000 firms × 24 interest records from the database,
# against plain PostgreSQL reading the same rows (the SELECT the batch's loader runs, alone).
echo
echo "== batch: 10,000 firms × 24 interest records"
bench_url=$(echo "$url" | sed 's|/[^/?]*?|/subsidy_bench?|')
psql "$admin_url" -q -c "DROP DATABASE IF EXISTS subsidy_bench WITH (FORCE)" -c "CREATE DATABASE subsidy_bench"
"$bin" migrate --database-url "$bench_url" >/dev/null
psql "$bench_url" -q -v ON_ERROR_STOP=1 -f scripts/bench/batch-data.sql
SUBSIDY_NEW_PASSWORD=bench-password-1 "$bin" init --admin bench --rehearsal --database-url "$bench_url" >/dev/null
"$bin" batch create --program zhuangda --year 2025 --user bench --database-url "$bench_url" <<< bench-password-1 >/dev/null
start=$(date +%s%N)
SUBSIDY_PASSWORD=bench-password-1 "$bin" batch compute 1 --user bench --database-url "$bench_url" 2>&1 | sed 's/^/  /'
end=$(date +%s%N)
batch_ms=$(( (end - start) / 1000000 ))
read_query="SELECT count(*), sum(r.paid_fen) FROM loans l JOIN interest_records r ON r.loan_id = l.id AND r.status = 'accepted' WHERE l.program = 'zhuangda' AND r.paid_on >= '2025-01-01' AND r.paid_on < '2026-01-01'"
for _ in 1 2 3; do
  psql "$bench_url" -qAt -c '\timing on' -c "$read_query" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
done | best > /tmp/bench-pg-read
echo "batch compute (load 240,000 records, engine, store 10,000 lines): ${batch_ms} ms"
echo "plain PostgreSQL reading the same rows: $(cat /tmp/bench-pg-read) ms"
python3 -c "print(f'ratio batch compute / PostgreSQL read: {$batch_ms / float(\"$(cat /tmp/bench-pg-read)\"):.1f}')"
fi
if want upload; then

# upload: a 100,000-record CSV through POST /v1/interest-records (release server, all checks,
# COPY into staging, set-based validation, versioned insert), against psql \copy of the same file
# into a bare table with no checks.
echo
echo "== upload: 100,000 interest records as one CSV"
python3 scripts/bench/gen_upload.py /tmp/bench-upload.csv /tmp/bench-loans.json
psql "$admin_url" -q -c "DROP DATABASE IF EXISTS subsidy_bench_upload WITH (FORCE)" -c "CREATE DATABASE subsidy_bench_upload"
upload_url=$(echo "$url" | sed 's|/[^/?]*?|/subsidy_bench_upload?|')
"$bin" migrate --database-url "$upload_url" >/dev/null
psql "$upload_url" -q -v ON_ERROR_STOP=1 -f scripts/demo/demo.sql
SUBSIDY_NEW_PASSWORD=bench-password-1 "$bin" init --admin bench --rehearsal --database-url "$upload_url" >/dev/null
token=$(SUBSIDY_PASSWORD=bench-password-1 "$bin" bank token create ICBC --label bench --user bench --database-url "$upload_url" | tail -1)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG_LEVEL=warning "$bin" serve --port "$port" --database-url "$upload_url" --no-migrate &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary @/tmp/bench-loans.json \
  "http://127.0.0.1:$port/v1/loans" >/dev/null
start=$(date +%s%N)
result=$(curl -s -X POST -H "Authorization: Bearer $token" -H 'Content-Type: text/csv' --data-binary @/tmp/bench-upload.csv \
  "http://127.0.0.1:$port/v1/interest-records")
end=$(date +%s%N)
upload_ms=$(( (end - start) / 1000000 ))
echo "  response: $result"
kill $server; wait $server 2>/dev/null || true
psql "$upload_url" -q -c "CREATE TABLE bare (loan_no text, period_from text, period_to text, balance text, paid text, paid_on text, firm_name text, bank_reference text)"
start=$(date +%s%N)
psql "$upload_url" -q -c "\copy bare FROM '/tmp/bench-upload.csv' WITH (FORMAT csv, HEADER true)"
end=$(date +%s%N)
copy_ms=$(( (end - start) / 1000000 ))
python3 -c "print(f'API upload: {$upload_ms} ms = {100000 / ($upload_ms / 1000):,.0f} records/s; psql \\\\copy into a bare table: {$copy_ms} ms = {100000 / ($copy_ms / 1000):,.0f} records/s; ratio {$upload_ms / $copy_ms:.1f}')"
fi
if want reconcile; then

# reconcile: importing a 100,000-line MT940 statement that pays 100,000 exported lines (parse,
# match, 100,000 ledger entries, lines paid), against plain PostgreSQL loading the same entries
# and joining them to the lines by reference in one query.
echo
echo "== reconcile: 100,000 statement lines against 100,000 payments"
python3 scripts/bench/gen_statement.py 100000 /tmp/bench-statement.sta /tmp/bench-entries.tsv
psql "$admin_url" -q -c "DROP DATABASE IF EXISTS subsidy_bench_recon WITH (FORCE)" -c "CREATE DATABASE subsidy_bench_recon"
recon_url=$(echo "$url" | sed 's|/[^/?]*?|/subsidy_bench_recon?|')
"$bin" migrate --database-url "$recon_url" >/dev/null
SUBSIDY_NEW_PASSWORD=bench-password-1 "$bin" init --admin bench --rehearsal --database-url "$recon_url" >/dev/null
psql "$recon_url" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO banks (code, name) VALUES ('ICBC', '中国工商银行');
INSERT INTO disbursement_accounts (account_no, bank_code, name) VALUES ('6222020000009999', 'ICBC', 'bench');
INSERT INTO batches (program, year, state, created_by, exported_at, total_fen) VALUES ('zhuangda', 2025, 'exported', 1, '2025-10-10 10:00+08', 0);
INSERT INTO batch_lines (batch_id, line_no, recipient_uscc, recipient_name, computed_fen, previously_fen, amount_fen, payment_ref, items, explanation)
SELECT 1, i, '9151RECON' || lpad(i::text, 9, '0'), 'firm ' || i, 10000 + i, 0, 10000 + i,
       'SLZ25' || lpad(i::text, 10, '0') || '0',
       '[]', '[]'
FROM generate_series(1, 100000) i;
ANALYZE;
SQL
start=$(date +%s%N)
SUBSIDY_PASSWORD=bench-password-1 "$bin" statement import /tmp/bench-statement.sta --user bench --database-url "$recon_url" | sed 's/^/  /'
end=$(date +%s%N)
recon_ms=$(( (end - start) / 1000000 ))
start=$(date +%s%N)
psql "$recon_url" -q <<'SQL'
CREATE TABLE bare_entries (n int, amount_fen bigint, ref text);
\copy bare_entries FROM '/tmp/bench-entries.tsv'
SELECT count(*) FROM bare_entries e JOIN batch_lines l ON l.payment_ref = e.ref AND l.amount_fen = -e.amount_fen;
SQL
end=$(date +%s%N)
plain_ms=$(( (end - start) / 1000000 ))
echo "reconcile (parse, match, post 100,000 ledger entries, mark paid): ${recon_ms} ms; plain PostgreSQL load + join: ${plain_ms} ms"
python3 -c "print(f'ratio reconcile / plain PostgreSQL: {$recon_ms / $plain_ms:.1f}')"
"$bin" ledger verify --database-url "$recon_url"

fi