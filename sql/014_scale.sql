-- Province and nation scale (issue 12), from the profile of a batch computation: each row a batch
-- stores in batch_records and batch_exclusions paid for per-row foreign-key triggers (two
-- lookups, one of them locking the batch's row FOR KEY SHARE once per row: 2.7 s of an 8 s city
-- batch). The references cannot dangle without them: no role the service uses may delete a
-- batch or an interest record (sql/011_roles.sql grants no DELETE on either), and the rows are
-- written from records the computation read, under the batch's row lock.
ALTER TABLE batch_records DROP CONSTRAINT batch_records_batch_id_fkey;
ALTER TABLE batch_records DROP CONSTRAINT batch_records_record_id_fkey;
ALTER TABLE batch_exclusions DROP CONSTRAINT batch_exclusions_batch_id_fkey;

-- A line's explanation is a few kB of JSON (a step per interest record): lz4 compresses it for
-- TOAST several times faster than the default pglz, at a similar size.
ALTER TABLE batch_lines ALTER COLUMN explanation SET COMPRESSION lz4;
ALTER TABLE batch_lines ALTER COLUMN items SET COMPRESSION lz4;
