-- A batch line's items checked against their line once per statement instead of once per row
-- (issue 12). A nation 新易贷 batch stores 895,960 items: the per-row foreign key ran a lookup
-- and a FOR KEY SHARE lock on the item's line for each, 2.2-3.7 s of statement time on the
-- connection that stores the batch (pg_stat_statements, 1,971,048 calls when the batch was
-- recomputed); deleting the lines of a recomputed batch ran the key's check the other way once
-- per line, 1.1 s for 537,544 lines.
--
-- What the key guaranteed still holds, for every role:
--   * every item's line exists: checked by the statement-level triggers over the new or changed
--     items (one anti-join);
--   * a line is not deleted while items name it: checked by a statement-level trigger over the
--     deleted lines. Lines are deleted only by a recomputation, which removes the items first,
--     under the batch's row lock, and only before approval (batch_lines_guard_delete); a line's
--     id never changes and lines are never truncated (sql/024).
-- Items and lines are written only by a computation, under its batch's row lock, so no two
-- transactions write or delete the lines and items of one batch at once.
-- A missing line is reported under the old constraint's name.
ALTER TABLE batch_line_items DROP CONSTRAINT batch_line_items_batch_line_id_fkey;

CREATE FUNCTION batch_line_items_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.batch_line_id INTO missing
    FROM (SELECT DISTINCT batch_line_id FROM new_items) n
    WHERE NOT EXISTS (SELECT 1 FROM batch_lines l WHERE l.id = n.batch_line_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'batch line % does not exist: an item names the line that awards it', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'batch_line_items_batch_line_id_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER batch_line_items_checked AFTER INSERT ON batch_line_items REFERENCING NEW TABLE AS new_items
    FOR EACH STATEMENT EXECUTE FUNCTION batch_line_items_checked();
CREATE TRIGGER batch_line_items_checked_update AFTER UPDATE ON batch_line_items REFERENCING NEW TABLE AS new_items
    FOR EACH STATEMENT EXECUTE FUNCTION batch_line_items_checked();

CREATE FUNCTION batch_lines_items_kept() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kept bigint;
BEGIN
    SELECT o.id INTO kept
    FROM old_lines o
    WHERE EXISTS (SELECT 1 FROM batch_line_items i WHERE i.batch_line_id = o.id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'batch line % still has items: a line goes only after its items', kept
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'batch_line_items_batch_line_id_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER batch_lines_items_kept AFTER DELETE ON batch_lines REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION batch_lines_items_kept();
