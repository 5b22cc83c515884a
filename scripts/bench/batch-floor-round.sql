-- One round of batch-floor.sql: fresh copies of the four tables holding every other batch's rows,
-- vacuumed; a checkpoint; the batch's rows written in one transaction, timed; the copies dropped.
\timing off
CREATE TABLE floor_lines (LIKE batch_lines INCLUDING ALL);
CREATE TABLE floor_items (LIKE batch_line_items INCLUDING ALL);
CREATE TABLE floor_used (LIKE batch_loan_records INCLUDING ALL);
CREATE TABLE floor_excluded (LIKE batch_exclusion_sets INCLUDING ALL);
INSERT INTO floor_lines SELECT * FROM batch_lines WHERE batch_id <> :batch;
INSERT INTO floor_items SELECT i.* FROM batch_line_items i JOIN batch_lines l ON l.id = i.batch_line_id WHERE l.batch_id <> :batch;
INSERT INTO floor_used SELECT * FROM batch_loan_records WHERE batch_id <> :batch;
INSERT INTO floor_excluded SELECT * FROM batch_exclusion_sets WHERE batch_id <> :batch;
VACUUM ANALYZE floor_lines, floor_items, floor_used, floor_excluded;
CHECKPOINT;
\timing on
BEGIN;
INSERT INTO floor_lines SELECT * FROM src_lines;
INSERT INTO floor_items SELECT * FROM src_items;
INSERT INTO floor_used SELECT * FROM src_used;
INSERT INTO floor_excluded SELECT * FROM src_excluded;
COMMIT;
\timing off
DROP TABLE floor_lines, floor_items, floor_used, floor_excluded;
