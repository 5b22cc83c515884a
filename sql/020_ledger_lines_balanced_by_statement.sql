-- The journal lines' balance checked over the statement's own lines (issue 12). Ledger.post
-- writes an entry and its lines in one statement, and both statement triggers then summed every
-- entry's lines in the journal: the same check twice, 250 ms each for the 78,680 entries of a
-- province approval (a lookup into journal_lines per entry). The entries' trigger keeps that
-- check — an entry has at least two lines summing to zero at the end of the statement that
-- creates it. The lines' trigger now sums only the lines the statement adds, from the transition
-- table: lines may only be added to an entry of this transaction (the sealed check, unchanged),
-- which was balanced when created, so adding lines that sum to zero for each entry keeps every
-- entry balanced — and a single added line can never sum to zero (amount_fen <> 0).
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
    SELECT entry_seq, count(*) AS lines, sum(amount_fen) AS total INTO bad
    FROM new_lines
    GROUP BY entry_seq
    HAVING sum(amount_fen) <> 0
    ORDER BY entry_seq
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % is unbalanced: % lines summing to % fen (debits must equal credits)', bad.entry_seq, bad.lines, bad.total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;
