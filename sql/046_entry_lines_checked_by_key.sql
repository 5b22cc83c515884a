-- A statement's new links checked against the rows they name, found by key, and no other rows
-- (issue 12). sql/043's check joined the links to `statement_entries`, `journal_lines` and
-- `accounts` as whole tables, and the planner hashed each table whole for every chunk of 20,000
-- links: `auto_explain` of a province statement's first chunk shows sequential scans of 99,140
-- journal lines, 79,137 accounts and 20,000 entries (160 ms of the insert's 282 ms), and of the
-- second chunk, 6,379 links, the same scans (81 ms). Those tables only grow — every year's
-- accruals, payments and statements stay in them — so the check of a statement cost more with
-- every year of history, whatever the statement's size: the reason a nation-scale statement was
-- 24.75× its baseline against 11.89× at province.
--
-- Now each table is read by its key for the values the links name (`= ANY (ARRAY(…))`): the
-- statement entries the links name, their batch lines, the lines of the journal entries they
-- name, and those lines' accounts. The check does work in proportion to the links, not to the
-- history. The planner cannot see how long such an array is (it assumes 10 elements); where it
-- judges a table small it may scan the table and match each row against the array one element at
-- a time — what a batch's recomputation once did with a table of 174,950 rows and 87,475 ids,
-- still running after 12 minutes. Every table read this way is looked up by its primary key, so
-- the function plans without sequential scans (`enable_seqscan = off`): index lookups, whatever
-- the statistics say. The refusals, their words, their order and their constraint names are
-- sql/043's.
CREATE OR REPLACE FUNCTION entry_lines_inserted_checked() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
    bad record;
BEGIN
    WITH entries AS (
        SELECT id FROM statement_entries WHERE id = ANY (ARRAY(SELECT DISTINCT entry_id FROM new_links))
    ), lines AS (
        SELECT id, batch_id, recipient_uscc, amount_fen FROM batch_lines
        WHERE id = ANY (ARRAY(SELECT DISTINCT batch_line_id FROM new_links))
    ), journal AS MATERIALIZED (
        SELECT entry_seq, line_no, account_id, amount_fen FROM journal_lines
        WHERE entry_seq = ANY (ARRAY(SELECT DISTINCT journal_seq FROM new_links WHERE journal_seq IS NOT NULL))
    ), chart AS (
        SELECT id, recipient_uscc, kind FROM accounts WHERE id = ANY (ARRAY(SELECT DISTINCT account_id FROM journal))
    )
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
    LEFT JOIN entries e ON e.id = n.entry_id
    LEFT JOIN lines bl ON bl.id = n.batch_line_id
    LEFT JOIN batches b ON b.id = bl.batch_id
    LEFT JOIN journal jl ON jl.entry_seq = n.journal_seq AND jl.line_no = n.journal_line
    LEFT JOIN chart a ON a.id = jl.account_id
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
