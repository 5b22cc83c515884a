-- A batch's number of lines, kept on the batch (issue 12). The web application's list of batches
-- counted each listed batch's lines for every page: 11-87 ms a province batch of 87,475 lines
-- (an index-only scan, slower while the visibility map lags a recomputation), growing with the
-- batch at nation (537,241 lines). A computation sets it, counted in its own transaction after
-- its lines are stored; the batch's summary reads it.
ALTER TABLE batches ADD COLUMN line_count integer NOT NULL DEFAULT 0 CHECK (line_count >= 0);
UPDATE batches b SET line_count = (SELECT count(*) FROM batch_lines l WHERE l.batch_id = b.id);
COMMENT ON COLUMN batches.line_count IS 'The batch''s lines as its last computation stored them (sql/045); fixed once approved.';

-- Once approved, the count is fixed as the total is (sql/010's guard), and lines can no longer be
-- stored or removed (sql/038).
CREATE TRIGGER batches_line_count_fixed BEFORE UPDATE OF line_count ON batches FOR EACH ROW
    WHEN (OLD.state IN ('approved', 'exported', 'paid', 'closed') AND NEW.line_count <> OLD.line_count)
    EXECUTE FUNCTION refuse_change('an approved batch''s line count is fixed with its lines');
