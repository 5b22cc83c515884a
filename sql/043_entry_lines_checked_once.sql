-- A statement's new links checked in one pass (issue 12). Two statement triggers checked the
-- links a statement inserts: `entry_lines_checked` (sql/024: the statement entries exist, the
-- batch lines are lines of an approved batch, the journal entries exist) and
-- `entry_lines_journal_line_checked` (sql/041: the journal line is the recipient's payable or
-- receivable, moved by the line's amount). Between them they read every link's batch line twice
-- and walked the links four times; `auto_explain` of a province statement's first 20,000 links:
-- 49, 77 and 146 ms, and the rest of the statement's queries. Now one query reads each link's
-- entry, batch line, batch, journal line and account once.
--
-- The refusals are the same, with the same words and constraint names, and in the same order: a
-- statement's links are refused for the first of these that any of them breaks — an entry that
-- does not exist (the link's or the one that returned it), a line not of an approved batch, a
-- journal entry that does not exist, a journal line that is not the link's. A journal entry is
-- looked up only for a link that names no journal line found: a journal line belongs to its
-- entry (sql/015).
--
-- An update of links (a return names the entry that returned a payment) is still checked by
-- `entry_lines_checked`, as before.
CREATE FUNCTION entry_lines_inserted_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.entry_id, n.returned_by, n.batch_line_id, n.kind, n.journal_seq, n.journal_line, b.state,
           CASE
               WHEN e.id IS NULL THEN 1
               WHEN n.returned_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM statement_entries r WHERE r.id = n.returned_by) THEN 2
               WHEN b.state IS NULL OR b.state NOT IN ('approved', 'exported', 'paid', 'closed') THEN 3
               WHEN n.journal_seq IS NOT NULL AND jl.entry_seq IS NULL
                    AND NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.seq = n.journal_seq) THEN 4
               ELSE 5
           END AS fault
    INTO bad
    FROM new_links n
    LEFT JOIN statement_entries e ON e.id = n.entry_id
    LEFT JOIN batch_lines bl ON bl.id = n.batch_line_id
    LEFT JOIN batches b ON b.id = bl.batch_id
    LEFT JOIN journal_lines jl ON jl.entry_seq = n.journal_seq AND jl.line_no = n.journal_line
    LEFT JOIN accounts a ON a.id = jl.account_id
    WHERE e.id IS NULL
       OR (n.returned_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM statement_entries r WHERE r.id = n.returned_by))
       OR b.state IS NULL OR b.state NOT IN ('approved', 'exported', 'paid', 'closed')
       OR (n.journal_seq IS NOT NULL AND jl.entry_seq IS NULL AND NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.seq = n.journal_seq))
       -- A payment's journal line debits the recipient's payable by the batch line's amount; a
       -- return's credits it by that amount; a repayment's credits the recipient's receivable.
       OR (n.journal_line IS NOT NULL
           AND (a.id IS NULL
                OR a.recipient_uscc IS DISTINCT FROM bl.recipient_uscc
                OR a.kind <> CASE n.kind WHEN 'repayment' THEN 'receivable' ELSE 'payable' END
                OR jl.amount_fen <> CASE n.kind WHEN 'payment' THEN bl.amount_fen WHEN 'return' THEN -bl.amount_fen
                                                WHEN 'repayment' THEN bl.amount_fen ELSE NULL END
                OR n.kind NOT IN ('payment', 'return', 'repayment')))
    ORDER BY fault
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF bad.fault IN (1, 2) THEN
        RAISE EXCEPTION 'statement entry % does not exist: a link names the entry that paid, returned or noted a line',
                CASE bad.fault WHEN 1 THEN bad.entry_id ELSE bad.returned_by END
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_lines_entry_id_fkey';
    ELSIF bad.fault = 3 THEN
        RAISE EXCEPTION 'batch line % is not a line of an approved batch (%): a statement links only lines that may be paid',
                bad.batch_line_id, coalesce(bad.state, 'no such line')
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_lines_batch_line_id_fkey';
    ELSIF bad.fault = 4 THEN
        RAISE EXCEPTION 'journal entry % does not exist: a link names the ledger entry posted for it', bad.journal_seq
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_lines_journal_seq_fkey';
    ELSE
        RAISE EXCEPTION 'journal entry % line % is not the % of batch line % to its recipient: a link names the ledger line that moved this line''s money',
                bad.journal_seq, bad.journal_line, bad.kind, bad.batch_line_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_lines_journal_line_fkey';
    END IF;
END;
$$;

DROP TRIGGER entry_lines_checked ON entry_lines;
DROP TRIGGER entry_lines_journal_line_checked ON entry_lines;
DROP FUNCTION entry_lines_journal_line_checked();
CREATE TRIGGER entry_lines_checked AFTER INSERT ON entry_lines REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION entry_lines_inserted_checked();
