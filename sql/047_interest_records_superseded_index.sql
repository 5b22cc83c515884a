-- A loan's superseded records by their own small index, in place of an index of every version
-- (issue 12).
--
-- interest_records_loan (sql/007) held every record, accepted or superseded, by loan and period,
-- beside interest_records_current (sql/004, sql/035), which holds the accepted ones by the same
-- leading key. An upload re-sending a bank's month (one record per loan) wrote a new leaf entry
-- into both for each new version and one into interest_records_loan again for each superseded
-- version. The leaves of an index by loan are one per ~100 loans, so the month's records landed
-- on tens of thousands of leaf pages, each written to the WAL whole the first time after a
-- checkpoint. Province, the bench's re-sent month (37,538 records) on fresh copies of one
-- database, two rounds alternated, just after a checkpoint: 254 MB of WAL and 3.96 / 2.98 s
-- with the index; 210 MB and 3.41 / 2.45 s with this migration. The two uploads after:
-- 1.88 / 1.70 and 1.55 / 1.53 s against 1.57 / 1.44 and 1.49 / 1.34 s.
--
-- What read it: the overlap checks (the upload's and sql/023's trigger) ask for accepted records
-- only, which interest_records_current answers as well; a firm's page and the bank API's records
-- of one loan ask for every version, and now read them through loan_interest_records below.
CREATE INDEX interest_records_superseded ON interest_records (loan_id, period_from) WHERE status = 'superseded';
DROP INDEX interest_records_loan;

-- Every version of a loan's records, each status by its own index: no index holds both now, and
-- a query asking `status = 'accepted' OR status = 'superseded'` (the only two, by the table's
-- check) was planned as a scan of the whole table (340 ms for a firm of three loans at province,
-- against 0.4 ms this way). A plain SQL function, so that PostgreSQL inlines it into the caller's
-- query (`CROSS JOIN LATERAL loan_interest_records(l.id)`) and plans the two index scans there.
CREATE FUNCTION loan_interest_records(loan bigint) RETURNS SETOF interest_records LANGUAGE sql STABLE AS $$
    SELECT * FROM interest_records WHERE loan_id = loan AND status = 'accepted'
    UNION ALL
    SELECT * FROM interest_records WHERE loan_id = loan AND status = 'superseded'
$$;
COMMENT ON FUNCTION loan_interest_records(bigint) IS
    'Every version of a loan''s interest records, accepted and superseded, each read by its own index (sql/047).';
