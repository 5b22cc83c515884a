-- The floor of a batch computation's writes, beside the benchmark's plain aggregate: the rows a
-- computed batch stored (its lines, their items, the records each loan used, the exclusion sets)
-- written again by plain SQL — no trigger, nothing computed, the rows already in the database —
-- into copies of the four tables that hold every other batch's rows and the same indexes and
-- checks. A computation reads the records and applies the rules as well; the plain aggregate
-- does that much and writes one narrow row per firm. One after the other, (aggregate + these
-- writes) / aggregate is the least ratio a computation that stores what this one stores can reach.
-- Overlapped on two cores, the least is the larger of the writes (one backend: the batch's one
-- transaction) and half of the aggregate's work in one process plus the writes.
--
-- Run as a superuser (CHECKPOINT) on a database where the batch is computed, e.g. a province
-- benchmark database (`scripts/bench.sh --scale province --keep`):
--   psql -d bench_province -v batch=1 -f scripts/bench/batch-floor.sql
-- Two rounds, each on fresh copies (vacuumed, then a checkpoint: a computation's first change to
-- a page is a full page image in the WAL), written in one transaction and committed. Fresh
-- copies, because writing the same rows again after a rolled-back round finds the aborted rows'
-- entries in the unique indexes and checks each in the heap: the lines' insert took 1.9 s a
-- round that way against 0.9 s into a fresh copy. It leaves nothing behind (the copies are
-- dropped).
\set ON_ERROR_STOP on
SELECT program, year FROM batches WHERE id = :batch \gset
\echo == batch :batch, :program :year
BEGIN;
CREATE TEMP TABLE src_lines AS SELECT * FROM batch_lines WHERE batch_id = :batch;
CREATE TEMP TABLE src_items AS SELECT i.* FROM batch_line_items i JOIN src_lines l ON l.id = i.batch_line_id;
CREATE TEMP TABLE src_used AS SELECT * FROM batch_loan_records WHERE batch_id = :batch;
CREATE TEMP TABLE src_excluded AS SELECT * FROM batch_exclusion_sets WHERE batch_id = :batch;
SELECT (SELECT count(*) FROM src_lines) AS lines, (SELECT count(*) FROM src_items) AS items,
       (SELECT count(*) FROM src_used) AS used_loans, (SELECT count(*) FROM src_excluded) AS exclusion_sets;
COMMIT;

\echo == right after a checkpoint: lines, items, used records, exclusion sets, commit
\ir batch-floor-round.sql
\echo == a second round, on fresh copies again
\ir batch-floor-round.sql

-- The benchmark's plain aggregate of the batch's program (scripts/bench.sh, step 3), three times.
\echo == the plain aggregate, three times
SELECT :'program' = 'zhuangda' AS zhuangda \gset
\if :zhuangda
  SELECT 'SELECT firm_uscc, least(80000000, sum(s))::bigint AS award FROM (
      SELECT l.firm_uscc, round(sum(least(round(r.balance_fen * f.pct * (r.period_to - r.period_from) / 36000.0), r.paid_fen)) * 0.5) AS s
      FROM loans l
      JOIN LATERAL (SELECT CASE WHEN l.maturity_date > (l.start_date + interval ''5 years'')::date THEN x.five_year_pct ELSE x.one_year_pct END AS pct
                    FROM lpr_fixings x WHERE x.published <= l.start_date ORDER BY x.published DESC LIMIT 1) f ON true
      JOIN interest_records r ON r.loan_id = l.id AND r.status = ''accepted''
           AND r.paid_on >= make_date(' || :year || ', 1, 1) AND r.paid_on < make_date(' || :year || ' + 1, 1, 1)
      WHERE l.program = ''zhuangda'' GROUP BY l.id, l.firm_uscc) t GROUP BY firm_uscc' AS aggregate \gset
\else
  SELECT 'SELECT firm_uscc, least(60000000, sum(a))::bigint AS award FROM (
      SELECT l.firm_uscc, least(round(l.principal_fen * CASE l.tier WHEN ''xinedai'' THEN 0.010 WHEN ''touliandai'' THEN 0.020 ELSE 0.015 END),
                                sum(r.paid_fen)) AS a
      FROM loans l
      JOIN interest_records r ON r.loan_id = l.id AND r.status = ''accepted''
           AND r.paid_on >= make_date(' || :year || ', 1, 1) AND r.paid_on < make_date(' || :year || ' + 1, 1, 1)
      WHERE l.program = ''xinyidai'' AND l.principal_fen <= 5000000000 GROUP BY l.id, l.firm_uscc) t GROUP BY firm_uscc' AS aggregate \gset
\endif
\timing on
DROP TABLE IF EXISTS floor_plain;
CREATE TABLE floor_plain AS :aggregate;
DROP TABLE floor_plain;
CREATE TABLE floor_plain AS :aggregate;
DROP TABLE floor_plain;
CREATE TABLE floor_plain AS :aggregate;
DROP TABLE floor_plain;
-- The aggregate's work in one process: it runs with two parallel workers on both cores, so its
-- wall time is about half its work. A computation can overlap its reading with its writes on the
-- two cores; its writes, in the batch's one transaction, run in one backend.
\echo == the plain aggregate in one process (no parallel workers)
SET max_parallel_workers_per_gather = 0;
CREATE TABLE floor_plain AS :aggregate;
DROP TABLE floor_plain;
RESET max_parallel_workers_per_gather;
\timing off
