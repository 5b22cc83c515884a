-- A statement import's remaining per-row checks, once per statement (issue 12). Server log of one
-- province import of 26,379 payments (auto_explain with triggers, on a copy of one database):
--   * the statement entries' foreign key to their statement ran a lookup and a FOR KEY SHARE lock
--     on the same statement row for each of the 26,379 entries: 117 ms of the entries' 328 ms;
--   * the ledger's balance check (journal_check_balanced, sql/015) was planned as a hash join
--     over a sequential scan of all journal lines (368,388 at the time, and every approval and
--     payment adds more): 138 ms, growing with the ledger rather than with the statement.
--
-- The foreign key becomes one statement-level check over the new entries, and what it also
-- guaranteed — the statement it names stays — is said for every role: statements are never
-- deleted or truncated nor their ids changed, and an entry never moves to another statement.
-- (Statement entries themselves are kept and their ids fixed since sql/024.) Refusals are
-- sql/023's refuse_change, with their reason; the missing statement is reported under the old
-- constraint's name.
ALTER TABLE statement_entries DROP CONSTRAINT statement_entries_statement_id_fkey;

CREATE TRIGGER statements_kept BEFORE DELETE OR TRUNCATE ON statements
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('an imported statement is kept');
CREATE TRIGGER statements_id_fixed BEFORE UPDATE OF id ON statements FOR EACH ROW WHEN (OLD.id <> NEW.id)
    EXECUTE FUNCTION refuse_change('a statement''s id never changes');
CREATE TRIGGER statement_entries_stay BEFORE UPDATE OF statement_id ON statement_entries FOR EACH ROW
    WHEN (OLD.statement_id <> NEW.statement_id)
    EXECUTE FUNCTION refuse_change('a statement entry stays with its statement');

CREATE FUNCTION statement_entries_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.statement_id INTO missing
    FROM (SELECT DISTINCT statement_id FROM new_entries) n
    WHERE NOT EXISTS (SELECT 1 FROM statements s WHERE s.id = n.statement_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'statement % does not exist: an entry belongs to an imported statement', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'statement_entries_statement_id_fkey';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER statement_entries_checked AFTER INSERT ON statement_entries REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION statement_entries_checked();

-- The same refusal, each entry's lines found through the primary key (entry_seq, line_no): a
-- lookup per entry of the statement, whatever the size of the journal.
CREATE OR REPLACE FUNCTION journal_check_balanced(entries bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT e.seq, t.lines, t.total INTO bad
    FROM unnest(entries) AS e(seq)
    CROSS JOIN LATERAL (SELECT count(*) AS lines, coalesce(sum(l.amount_fen), 0) AS total
                        FROM journal_lines l WHERE l.entry_seq = e.seq) t
    WHERE t.lines < 2 OR t.total <> 0
    ORDER BY e.seq
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % is unbalanced: % lines summing to % fen (debits must equal credits)', bad.seq, bad.lines, bad.total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END;
$$;
