-- Interest records' references and their no-overlap rule checked once per statement instead of
-- once per row (issue 12). Re-sending one bank's month at province (37,538 records, each
-- superseding its stored version into a table of 3.4 million) spent 2.2 s in the INSERT, of
-- which (EXPLAIN ANALYZE, dropping each in a rolled-back transaction) the three per-row foreign
-- keys took 500-680 ms (each a lookup and a FOR KEY SHARE lock per row) and the exclusion
-- constraint's GiST index 760 ms. What they guaranteed still holds, for every role:
--   * every record's loan exists; every upload it names exists; the record it supersedes exists
--     and is of the same loan — checked by the statement-level trigger over the new rows;
--   * none of those can go or change its id afterwards: interest records, loans and uploads
--     are never deleted or truncated, their ids never change (no role the service uses was
--     granted DELETE on them; this refuses it for every role);
--   * no two accepted records of a loan overlap ([from, to) ranges): the trigger takes a lock
--     per bank of the new records, then looks for an accepted record of the same loan
--     overlapping each new one. A second transaction storing records for the same bank waits
--     for the first to commit, and its check (a new snapshot under READ COMMITTED) sees the
--     first's records; under SERIALIZABLE the predicate locks of the two checks make one of
--     them fail; REPEATABLE READ, whose snapshot would not see the first's records, is refused.
--     A record of a loan belongs to the loan's bank, so the bank's lock covers every writer.
-- A stored record changes only once, from accepted to superseded (its new version is a new
-- row): the trigger below refuses any other change, and a superseded record never comes back,
-- so no update can make two accepted records overlap.
ALTER TABLE interest_records
    DROP CONSTRAINT interest_records_loan_id_fkey,
    DROP CONSTRAINT interest_records_supersedes_fkey,
    DROP CONSTRAINT interest_records_upload_id_fkey,
    DROP CONSTRAINT interest_records_no_overlap;

-- Refuses the change a trigger guards against, for any table: its argument says why.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER interest_records_kept BEFORE DELETE OR TRUNCATE ON interest_records
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('interest records are kept: a new version supersedes one');
CREATE TRIGGER interest_records_versioned BEFORE UPDATE ON interest_records FOR EACH ROW
    WHEN (OLD.status <> 'accepted' OR NEW.status <> 'superseded'
          OR (NEW.id, NEW.loan_id, NEW.period_from, NEW.period_to, NEW.balance_fen, NEW.paid_fen, NEW.paid_on, NEW.bank_reference,
              NEW.version, NEW.supersedes, NEW.created_at, NEW.firm_name, NEW.upload_id, NEW.is_correction)
             IS DISTINCT FROM
             (OLD.id, OLD.loan_id, OLD.period_from, OLD.period_to, OLD.balance_fen, OLD.paid_fen, OLD.paid_on, OLD.bank_reference,
              OLD.version, OLD.supersedes, OLD.created_at, OLD.firm_name, OLD.upload_id, OLD.is_correction))
    EXECUTE FUNCTION refuse_change('a stored record only goes from accepted to superseded; a new version is a new record');
CREATE TRIGGER loans_kept BEFORE DELETE OR TRUNCATE ON loans
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a registered loan is kept');
CREATE TRIGGER loans_id_fixed BEFORE UPDATE OF id ON loans FOR EACH ROW WHEN (OLD.id <> NEW.id)
    EXECUTE FUNCTION refuse_change('a loan''s id never changes');
CREATE TRIGGER uploads_kept BEFORE DELETE OR TRUNCATE ON uploads
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('an upload is kept');
CREATE TRIGGER uploads_id_fixed BEFORE UPDATE OF id ON uploads FOR EACH ROW WHEN (OLD.id <> NEW.id)
    EXECUTE FUNCTION refuse_change('an upload''s id never changes');

CREATE FUNCTION interest_records_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    loans_of record;
BEGIN
    -- The loans of the new records, once: each exists, and their banks are the locks taken below.
    SELECT min(n.loan_id) FILTER (WHERE l.id IS NULL) AS missing,
           array_agg(DISTINCT l.bank_code ORDER BY l.bank_code) FILTER (WHERE l.id IS NOT NULL) AS banks
    INTO loans_of
    FROM (SELECT DISTINCT loan_id FROM new_records) n LEFT JOIN loans l ON l.id = n.loan_id;
    IF loans_of.missing IS NOT NULL THEN
        RAISE EXCEPTION 'loan % does not exist: an interest record belongs to a registered loan', loans_of.missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'interest_records_loan_id_fkey';
    END IF;
    SELECT n.upload_id INTO bad
    FROM (SELECT DISTINCT upload_id FROM new_records WHERE upload_id IS NOT NULL) n
    WHERE NOT EXISTS (SELECT 1 FROM uploads u WHERE u.id = n.upload_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'upload % does not exist: an interest record names the upload that brought it', bad.upload_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'interest_records_upload_id_fkey';
    END IF;
    SELECT n.id, n.supersedes INTO bad
    FROM new_records n LEFT JOIN interest_records o ON o.id = n.supersedes
    WHERE n.supersedes IS NOT NULL AND (o.id IS NULL OR o.loan_id <> n.loan_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'interest record % supersedes %, which is not a record of its loan', bad.id, bad.supersedes
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'interest_records_supersedes_fkey';
    END IF;

    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'interest records are stored under READ COMMITTED or SERIALIZABLE: under REPEATABLE READ the overlap check would not see records another transaction committed meanwhile'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- One lock per bank (its records are written by its uploads), taken in one order.
    PERFORM pg_advisory_xact_lock(2023, hashtext(b.code)) FROM unnest(loans_of.banks) WITH ORDINALITY b(code, n) ORDER BY b.n;
    -- An index lookup per new record (OFFSET 0 keeps the subquery a parameterised nested loop).
    SELECT n.id, n.loan_id, n.period_from, n.period_to, r.id AS other, r.period_from AS other_from, r.period_to AS other_to INTO bad
    FROM new_records n CROSS JOIN LATERAL (
        SELECT r.id, r.period_from, r.period_to FROM interest_records r
        WHERE r.loan_id = n.loan_id AND r.status = 'accepted' AND r.period_from < n.period_to AND n.period_from < r.period_to AND r.id <> n.id
        OFFSET 0) r
    WHERE n.status = 'accepted'
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'interest record % of loan % (% to %) overlaps the accepted record % (% to %)',
                bad.id, bad.loan_id, bad.period_from, bad.period_to, bad.other, bad.other_from, bad.other_to
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'interest_records_no_overlap';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER interest_records_checked AFTER INSERT ON interest_records REFERENCING NEW TABLE AS new_records
    FOR EACH STATEMENT EXECUTE FUNCTION interest_records_checked();
