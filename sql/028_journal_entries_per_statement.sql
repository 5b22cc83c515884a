-- A journal entry's references checked once per statement (issue 12). auto_explain with
-- triggers on a province approval (79,135 entries, on a copy of one database): the per-row
-- foreign key to the approver (a lookup and a FOR KEY SHARE lock on the same users row for
-- every entry) took 306 ms, the one to the reversed entry 61 ms (NULL for all but reversals,
-- yet a trigger call per row); the approval's ledger post 2,885 ms in all.
--
-- journal_entries_checked (sql/015), which already runs once per statement over the new entries,
-- now also checks that the user who posted each exists and that a reversal's entry exists (the
-- same statement may write both). What the keys also guaranteed — what they name stays — holds
-- for every role: journal entries are immutable (sql/003), and users are never deleted or
-- truncated (deactivated instead: the journal and the audit log name them) nor their ids changed.
-- A missing reference is reported under the old constraint's name.
ALTER TABLE journal_entries
    DROP CONSTRAINT journal_entries_created_by_fkey,
    DROP CONSTRAINT journal_entries_reverses_fkey;

CREATE TRIGGER users_kept BEFORE DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a user is kept (deactivate instead): the journal and the audit log name who acted');
CREATE TRIGGER users_id_fixed BEFORE UPDATE OF id ON users FOR EACH ROW WHEN (OLD.id <> NEW.id)
    EXECUTE FUNCTION refuse_change('a user''s id never changes');

CREATE OR REPLACE FUNCTION journal_entries_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.created_by INTO missing
    FROM (SELECT DISTINCT created_by FROM new_entries WHERE created_by IS NOT NULL) n
    WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = n.created_by)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'user % does not exist: a journal entry names the user who posted it', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'journal_entries_created_by_fkey';
    END IF;
    SELECT n.reverses INTO missing
    FROM new_entries n
    WHERE n.reverses IS NOT NULL AND NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.seq = n.reverses)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not exist: a reversal names the entry it reverses', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'journal_entries_reverses_fkey';
    END IF;
    PERFORM journal_check_balanced(ARRAY(SELECT seq FROM new_entries));
    RETURN NULL;
END;
$$;
