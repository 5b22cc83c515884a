-- The floor of a statement import's writes: the rows statement 1's import wrote (its entries,
-- their payments' journal lines, their links, and its lines marked paid), written again by plain
-- SQL into bare copies of the tables, without a trigger, after a checkpoint. Run as a superuser
-- (CHECKPOINT) on a database where statement 1 is imported, e.g. a province benchmark database
-- (`scripts/bench.sh --scale province --keep`):
--   psql -d bench_province -f scripts/bench/reconcile-floor.sql
-- It leaves nothing behind (the copies are dropped).
\timing on
BEGIN;
CREATE TEMP TABLE se_src AS SELECT * FROM statement_entries WHERE statement_id = 1;
CREATE TEMP TABLE el_src AS SELECT el.* FROM entry_lines el JOIN se_src e ON e.id = el.entry_id;
CREATE TEMP TABLE jl_src AS SELECT * FROM journal_lines WHERE entry_seq IN (SELECT DISTINCT journal_seq FROM el_src WHERE journal_seq IS NOT NULL);
CREATE TABLE floor_entries (LIKE statement_entries INCLUDING ALL);
CREATE TABLE floor_journal (LIKE journal_lines INCLUDING ALL);
CREATE TABLE floor_links (LIKE entry_lines INCLUDING ALL);
CREATE TABLE floor_lines (LIKE batch_lines INCLUDING ALL) WITH (fillfactor = 50);
INSERT INTO floor_lines SELECT * FROM batch_lines;
COMMIT;
CHECKPOINT;
\echo == the same rows, plain SQL, no triggers: entries, journal lines, links, lines paid, commit
BEGIN;
INSERT INTO floor_entries SELECT * FROM se_src;
INSERT INTO floor_journal SELECT * FROM jl_src;
INSERT INTO floor_links SELECT * FROM el_src;
UPDATE floor_lines SET status = 'paid' FROM el_src WHERE floor_lines.id = el_src.batch_line_id;
COMMIT;
DROP TABLE floor_entries, floor_journal, floor_links, floor_lines;
