-- A batch's number of lines, kept on the batch (issue 12). The web application's list of batches
-- counted each listed batch's lines for every page: 11-87 ms a province batch of 87,475 lines
-- (an index-only scan, slower while the visibility map lags a recomputation), growing with the
-- batch at nation (537,241 lines). A computation sets it, counted in its own transaction after
-- its lines are stored; an approved batch's count is fixed with its total and signatures.
-- The batch's own page and its summary still count the lines themselves.
ALTER TABLE batches ADD COLUMN line_count integer NOT NULL DEFAULT 0 CHECK (line_count >= 0);
UPDATE batches b SET line_count = (SELECT count(*) FROM batch_lines l WHERE l.batch_id = b.id);
COMMENT ON COLUMN batches.line_count IS 'The batch''s lines as its last computation stored them (sql/045); fixed once approved.';

-- sql/010's guard again, with line_count among what an approved batch keeps (a migration replaces
-- the function whole; sql/010 stays as it was applied).
CREATE OR REPLACE FUNCTION batch_state_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state
       AND NOT EXISTS (SELECT 1 FROM batch_transitions WHERE from_state = OLD.state AND to_state = NEW.state) THEN
        RAISE EXCEPTION 'batch %: % → % is not a transition of the batch lifecycle', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.state IN ('approved', 'exported', 'paid', 'closed')
       AND (NEW.program, NEW.year, NEW.district, NEW.total_fen, NEW.approved_by, NEW.computed_by, NEW.line_count)
           IS DISTINCT FROM (OLD.program, OLD.year, OLD.district, OLD.total_fen, OLD.approved_by, OLD.computed_by, OLD.line_count) THEN
        RAISE EXCEPTION 'batch % is %: its scope, total and signatures are fixed', OLD.id, OLD.state USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
