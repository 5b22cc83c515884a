-- The journal lines' references checked once per statement instead of once per row (issue 12).
-- A statement reconciling 26,379 payments writes 26,379 entries and 52,758 lines; the two
-- foreign keys of journal_lines ran a lookup per line each: 439 ms of the insert's 1,141 ms
-- (EXPLAIN ANALYZE at province scale, "Trigger for constraint journal_lines_entry_seq_fkey:
-- 234 ms, journal_lines_account_id_fkey: 205 ms"). What they guaranteed still holds, checked by
-- the statement-level trigger over the statement's new lines, with the same set queries:
--   * every line's entry exists, and was created by this transaction (sealed otherwise) — the
--     existence the foreign key checked, now part of the sealed check;
--   * every line's account exists;
--   * an entry or an account, once referenced, can never go: journal entries were already
--     immutable (UPDATE, DELETE and TRUNCATE refused), and accounts now are too (no role the
--     service uses was granted UPDATE or DELETE on them; this refuses it for every role).
ALTER TABLE journal_lines DROP CONSTRAINT journal_lines_entry_seq_fkey;
ALTER TABLE journal_lines DROP CONSTRAINT journal_lines_account_id_fkey;

CREATE TRIGGER accounts_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change();

CREATE OR REPLACE FUNCTION journal_lines_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.entry_seq, e.seq IS NULL AS missing INTO bad
    FROM (SELECT DISTINCT entry_seq FROM new_lines) n
    LEFT JOIN journal_entries e ON e.seq = n.entry_seq
    WHERE e.seq IS NULL OR e.xmin::text::bigint <> txid_current() % 4294967296
    ORDER BY n.entry_seq
    LIMIT 1;
    IF FOUND AND bad.missing THEN
        RAISE EXCEPTION 'journal entry % does not exist: lines are added only with their entry', bad.entry_seq
            USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'journal entry % is sealed: lines are added only with their entry', bad.entry_seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT n.account_id INTO bad
    FROM (SELECT DISTINCT account_id FROM new_lines) n
    WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = n.account_id)
    ORDER BY n.account_id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'account % does not exist: a journal line names an account of the chart', bad.account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    PERFORM journal_check_balanced(ARRAY(SELECT DISTINCT entry_seq FROM new_lines));
    RETURN NULL;
END;
$$;
