-- sql/046's check reads the rows the links name by `= ANY (ARRAY(SELECT …))`. The planner cannot
-- see how long such an array is (it assumes 10 elements); where it judges a table small it may
-- scan the table and match each row against the array one element at a time — what a batch's
-- recomputation did with `batch_line_texts` (87,475 ids against 174,950 texts, still running
-- after 12 minutes in a province benchmark; fixed in the store by a join). Every table the check
-- reads this way is looked up by its primary key, so the function now plans without sequential
-- scans: index lookups, in proportion to the links, whatever the statistics say.
ALTER FUNCTION entry_lines_inserted_checked() SET enable_seqscan = off;
