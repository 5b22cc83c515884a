-- Which interest records a batch's computation used, a row per loan instead of a row per record
-- (issue 12). At province a zhuangda batch used 1.4 million records: as many rows and twice as
-- many index entries, 1.1 s of every 5,000-firm chunk's store (EXPLAIN ANALYZE of a chunk's
-- 88,468 records) and most of the batch's database time. The same records as arrays, one row for
-- each of the chunk's 8,623 loans, take 0.1 s, and the table is a sixth of the size (27 MB
-- against 154 MB). The lookups keep an index: the records of a loan a granted batch used are
-- found by the loan (`batch_loan_records_loan`), and a record is used when its id is in the
-- array. As for batch_records (sql/014), no foreign keys: no role the service uses may delete a
-- batch, a loan or an interest record, and the rows are written from records the computation
-- read, under the batch's row lock.
CREATE TABLE batch_loan_records (
    batch_id        bigint NOT NULL,
    loan_id         bigint NOT NULL,
    record_ids      bigint[] NOT NULL CHECK (cardinality(record_ids) > 0),
    PRIMARY KEY (batch_id, loan_id)
);
CREATE INDEX batch_loan_records_loan ON batch_loan_records (loan_id);

INSERT INTO batch_loan_records (batch_id, loan_id, record_ids)
SELECT br.batch_id, r.loan_id, array_agg(br.record_id ORDER BY br.record_id)
FROM batch_records br JOIN interest_records r ON r.id = br.record_id
GROUP BY br.batch_id, r.loan_id;

DROP TABLE batch_records;

-- Recomputing a batch before approval replaces its used records, as it did batch_records'.
GRANT DELETE ON batch_loan_records TO subsidy_service;
