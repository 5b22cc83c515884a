-- The batch lines' guard (sql/010) is called only for an update that changes what it protects
-- (issue 12). As a plain row trigger it ran its PL/pgSQL function — a query for the batch's
-- state — for every row of every update: freezing the payees of a province approval's 87,475
-- lines and marking a statement's 26,379 lines paid called it once per line, 100 ms of the
-- statement's 590 ms update, for changes it always lets through. The trigger's WHEN condition is
-- the function's own test of the row (recipient, amounts and reference unchanged, in or out of
-- "excluded" unchanged), evaluated without calling the function; the function still decides by
-- the batch's state when the row test fails, so what is refused is exactly as before. Deletes
-- keep their own trigger, unconditional.
DROP TRIGGER batch_lines_guard ON batch_lines;
CREATE TRIGGER batch_lines_guard BEFORE UPDATE ON batch_lines FOR EACH ROW
    WHEN ((NEW.batch_id, NEW.line_no, NEW.recipient_uscc, NEW.computed_fen, NEW.previously_fen, NEW.amount_fen, NEW.payment_ref)
          IS DISTINCT FROM (OLD.batch_id, OLD.line_no, OLD.recipient_uscc, OLD.computed_fen, OLD.previously_fen, OLD.amount_fen, OLD.payment_ref)
          OR (OLD.status = 'excluded') <> (NEW.status = 'excluded'))
    EXECUTE FUNCTION batch_line_guard();
CREATE TRIGGER batch_lines_guard_delete BEFORE DELETE ON batch_lines FOR EACH ROW EXECUTE FUNCTION batch_line_guard();
