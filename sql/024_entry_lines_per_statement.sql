-- Reconciliation's links (what each statement entry did to a batch line) checked once per
-- statement instead of once per row (issue 12). A province statement of 26,379 payments writes
-- 26,379 links; their four per-row foreign keys (entry, line, journal entry, returning entry)
-- each ran a lookup and a FOR KEY SHARE lock per row. What they guaranteed still holds, for
-- every role:
--   * every link's entry, line, journal entry and returning entry exist — checked by the
--     statement-level triggers over the new or changed links; the line must also belong to a
--     batch that was approved (a statement pays, returns or repays only such lines);
--   * none of those can go or change its id afterwards: statement entries are never deleted or
--     truncated and their ids never change; a line of an approved batch is never deleted
--     (batch_lines_guard_delete, sql/010), a batch never goes back from approved (the lifecycle,
--     batch_transitions), batch lines are never truncated and their ids never change; journal
--     entries are immutable (sql/003).
-- A link itself changes only once: a payment's link is marked returned by the returning entry;
-- it is never deleted. Each refusal is sql/023's refuse_change, with its reason.
ALTER TABLE entry_lines
    DROP CONSTRAINT entry_lines_entry_id_fkey,
    DROP CONSTRAINT entry_lines_batch_line_id_fkey,
    DROP CONSTRAINT entry_lines_journal_seq_fkey,
    DROP CONSTRAINT entry_lines_returned_by_fkey;

CREATE TRIGGER statement_entries_kept BEFORE DELETE OR TRUNCATE ON statement_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a statement entry is kept');
CREATE TRIGGER statement_entries_id_fixed BEFORE UPDATE OF id ON statement_entries FOR EACH ROW WHEN (OLD.id <> NEW.id)
    EXECUTE FUNCTION refuse_change('a statement entry''s id never changes');
CREATE TRIGGER batch_lines_not_truncated BEFORE TRUNCATE ON batch_lines
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('batch lines go only with their batch''s recomputation, line by line');
CREATE TRIGGER batch_lines_id_fixed BEFORE UPDATE OF id ON batch_lines FOR EACH ROW WHEN (OLD.id <> NEW.id)
    EXECUTE FUNCTION refuse_change('a batch line''s id never changes');
CREATE TRIGGER entry_lines_kept BEFORE DELETE OR TRUNCATE ON entry_lines
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a statement entry''s link to a line is kept');
CREATE TRIGGER entry_lines_returned_once BEFORE UPDATE ON entry_lines FOR EACH ROW
    WHEN (OLD.returned_by IS NOT NULL OR NEW.returned_by IS NULL OR OLD.kind <> 'payment'
          OR (NEW.entry_id, NEW.batch_line_id, NEW.kind, NEW.journal_seq) IS DISTINCT FROM (OLD.entry_id, OLD.batch_line_id, OLD.kind, OLD.journal_seq))
    EXECUTE FUNCTION refuse_change('a payment''s link changes only when the payment is returned, once');

CREATE FUNCTION entry_lines_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.entry_id INTO bad
    FROM (SELECT entry_id FROM new_links UNION SELECT returned_by FROM new_links WHERE returned_by IS NOT NULL) n
    WHERE NOT EXISTS (SELECT 1 FROM statement_entries e WHERE e.id = n.entry_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'statement entry % does not exist: a link names the entry that paid, returned or noted a line', bad.entry_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_lines_entry_id_fkey';
    END IF;
    SELECT n.batch_line_id, b.state INTO bad
    FROM (SELECT DISTINCT batch_line_id FROM new_links) n
    LEFT JOIN batch_lines bl ON bl.id = n.batch_line_id LEFT JOIN batches b ON b.id = bl.batch_id
    WHERE b.state IS NULL OR b.state NOT IN ('approved', 'exported', 'paid', 'closed')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'batch line % is not a line of an approved batch (%): a statement links only lines that may be paid',
                bad.batch_line_id, coalesce(bad.state, 'no such line')
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_lines_batch_line_id_fkey';
    END IF;
    SELECT n.journal_seq INTO bad
    FROM (SELECT DISTINCT journal_seq FROM new_links WHERE journal_seq IS NOT NULL) n
    WHERE NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.seq = n.journal_seq)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not exist: a link names the ledger entry posted for it', bad.journal_seq
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_lines_journal_seq_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER entry_lines_checked AFTER INSERT ON entry_lines REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION entry_lines_checked();
CREATE TRIGGER entry_lines_checked_update AFTER UPDATE ON entry_lines REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION entry_lines_checked();
