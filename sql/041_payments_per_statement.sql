-- A statement's payments posted as one ledger entry per batch and chunk of entries, with a line
-- per paid recipient, instead of one entry per payment (issue 12). A province statement of 26,379
-- payments wrote 26,379 entries, each hashed into the chain and each with its own two lines; it now
-- writes one entry of 26,380 lines (a payable debit per paid line, one bank credit for their sum).
--
-- Each payment's link now names the very journal line that paid it (`journal_line`), and the
-- database checks that the line is the payable account of the batch line's recipient, debited the
-- batch line's amount: a link cannot point at another firm's money or another amount. Links
-- written before this migration (one entry per payment, its payable debit line 1) keep
-- `journal_line` NULL: their entry is theirs alone.
--
-- A return (退汇) of a payment posted this way reverses that one line, not the entry: an entry of
-- the new kind 'return' credits the recipient's payable and debits the bank by the line's amount
-- (a 'reversal' reverses a whole entry, once: `reverses` is unique). Its link names the new
-- entry's payable line the same way, credited the batch line's amount.
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_check
    CHECK (kind IN ('budget', 'accrual', 'payment', 'reversal', 'return', 'recovery', 'adjustment'));

ALTER TABLE entry_lines ADD COLUMN journal_line integer CHECK (journal_line >= 1);
ALTER TABLE entry_lines ADD CONSTRAINT entry_lines_journal_line_with_entry CHECK (journal_line IS NULL OR journal_seq IS NOT NULL);

-- A link still changes only once, when its payment is returned: the line it names included.
DROP TRIGGER entry_lines_returned_once ON entry_lines;
CREATE TRIGGER entry_lines_returned_once BEFORE UPDATE ON entry_lines FOR EACH ROW
    WHEN (OLD.returned_by IS NOT NULL OR NEW.returned_by IS NULL OR OLD.kind <> 'payment'
          OR (NEW.entry_id, NEW.batch_line_id, NEW.kind, NEW.journal_seq, NEW.journal_line)
             IS DISTINCT FROM (OLD.entry_id, OLD.batch_line_id, OLD.kind, OLD.journal_seq, OLD.journal_line))
    EXECUTE FUNCTION refuse_change('a payment''s link changes only when the payment is returned, once');

CREATE FUNCTION entry_lines_journal_line_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    -- A payment's journal line debits the recipient's payable by the batch line's amount; a
    -- return's credits it by that amount; a repayment's credits the recipient's receivable.
    SELECT n.batch_line_id, n.kind, n.journal_seq, n.journal_line INTO bad
    FROM new_links n
    JOIN batch_lines bl ON bl.id = n.batch_line_id
    LEFT JOIN journal_lines jl ON jl.entry_seq = n.journal_seq AND jl.line_no = n.journal_line
    LEFT JOIN accounts a ON a.id = jl.account_id
    WHERE n.journal_line IS NOT NULL
      AND (a.id IS NULL
           OR a.recipient_uscc IS DISTINCT FROM bl.recipient_uscc
           OR a.kind <> CASE n.kind WHEN 'repayment' THEN 'receivable' ELSE 'payable' END
           OR jl.amount_fen <> CASE n.kind WHEN 'payment' THEN bl.amount_fen WHEN 'return' THEN -bl.amount_fen
                                           WHEN 'repayment' THEN bl.amount_fen ELSE NULL END
           OR n.kind NOT IN ('payment', 'return', 'repayment'))
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % line % is not the % of batch line % to its recipient: a link names the ledger line that moved this line''s money',
                bad.journal_seq, bad.journal_line, bad.kind, bad.batch_line_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_lines_journal_line_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER entry_lines_journal_line_checked AFTER INSERT ON entry_lines REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION entry_lines_journal_line_checked();
