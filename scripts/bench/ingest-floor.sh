#!/bin/bash
# The floor of an upload's writes: the records of the benchmark's re-sent month (one bank's month,
# every record a new version of a stored one) written by plain SQL into interest_records itself,
# with its indexes but without a trigger or a check, beside the benchmark's baseline (`\copy` of
# the same file into a bare table). Each round runs in a transaction that is rolled back, so the
# database keeps nothing but the sequence's advance and dead rows for VACUUM. Run with a
# superuser's connection (CHECKPOINT, session_replication_role) on a generated database, e.g. the
# one `scripts/bench.sh --scale province --keep` leaves (bench_province). The file's records are
# matched to the accepted version stored for their loan and period, whether or not the benchmark
# has uploaded the file already:
#   scripts/bench/ingest-floor.sh "$SUPERUSER_URL" .build/bench-province/records/ICBC-2025-06-resent.csv ICBC
# (psql does not expand variables in \copy's arguments, hence a shell script.)
set -euo pipefail
db=$1 file=$(realpath "$2") bank=$3
[[ $bank =~ ^[A-Z0-9]+$ ]] || { echo "bank code: letters and digits" >&2; exit 2; }
[[ $file != *"'"* ]] || { echo "file name: no quotes" >&2; exit 2; }
# One round: the stored versions superseded, the new versions inserted (the unique index of the
# accepted versions needs them in that order), rolled back.
round="BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE interest_records r SET status = 'superseded' FROM floor_new n WHERE r.id = n.old_id;
INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on, bank_reference, version,
    supersedes, firm_name, is_correction)
SELECT loan_id, period_from, period_to, balance_fen, paid_fen, paid_on, bank_reference, version, old_id, firm_name, true
FROM floor_new;
ROLLBACK;"
psql "$db" -X -q <<SQL
\set ON_ERROR_STOP on
\timing off
CREATE TEMP TABLE floor_csv (loan_no text, period_from text, period_to text, balance text, paid text, paid_on text,
    firm_name text, bank_reference text);
\copy floor_csv FROM '$file' WITH (FORMAT csv, HEADER true)
-- Each row of the file beside the stored version it replaces (the upload's own matching, done once
-- here and not timed: the floor is the writes).
CREATE TEMP TABLE floor_new AS
SELECT r.id AS old_id, r.loan_id, c.period_from::date AS period_from, c.period_to::date AS period_to,
       (c.balance::numeric * 100)::bigint AS balance_fen, (c.paid::numeric * 100)::bigint AS paid_fen,
       c.paid_on::date AS paid_on, NULLIF(c.bank_reference, '') AS bank_reference, r.version + 1 AS version,
       NULLIF(c.firm_name, '') AS firm_name
FROM floor_csv c
JOIN loans l ON l.bank_code = '$bank' AND l.loan_no = c.loan_no
JOIN interest_records r ON r.loan_id = l.id AND r.status = 'accepted'
     AND r.period_from = c.period_from::date AND r.period_to = c.period_to::date;
SELECT (SELECT count(*) FROM floor_csv) AS rows_in_file, (SELECT count(*) FROM floor_new) AS stored_versions_found;
CREATE TEMP TABLE floor_bare (LIKE floor_csv);
ANALYZE floor_new;

\echo == round 1, right after a checkpoint: the stored versions superseded, the new versions inserted
CHECKPOINT;
\timing on
$round
\echo == round 2, the same pages already in the WAL since the checkpoint
$round
\echo == the baseline of the benchmark: copy of the file into a bare table, three times
\copy floor_bare FROM '$file' WITH (FORMAT csv, HEADER true)
TRUNCATE floor_bare;
\copy floor_bare FROM '$file' WITH (FORMAT csv, HEADER true)
TRUNCATE floor_bare;
\copy floor_bare FROM '$file' WITH (FORMAT csv, HEADER true)
SQL
