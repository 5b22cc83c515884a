-- Statistics for the batch tables right after a computation (issue 12).
--
-- A computation writes tens of thousands of lines and items at once. Until autovacuum analyzes
-- them, the planner believes the batch has one line: approving a province 新易贷 batch of 87,464
-- lines right after computing it planned the cap re-check as a nested loop of every line against
-- every item and ran for more than 90 s (it takes about 10 s with statistics). Only a table's
-- owner may ANALYZE it, so the service role calls this function, which runs as the owner and does
-- nothing else. The approval and the reconciliation join lines and items; the used records and
-- the exclusions are only read by index, and their statistics are left to autovacuum.
CREATE FUNCTION refresh_batch_statistics() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    ANALYZE batch_lines;
    ANALYZE batch_line_items;
END;
$$;

REVOKE ALL ON FUNCTION refresh_batch_statistics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_batch_statistics() TO subsidy_service;

-- Nothing filters or joins on a line's items or explanation: their statistics are not gathered.
ALTER TABLE batch_lines ALTER COLUMN items SET STATISTICS 0, ALTER COLUMN explanation SET STATISTICS 0;
