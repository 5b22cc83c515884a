-- A recomputation's removal of the earlier lines checked once per statement instead of once per
-- row (issue 12). Recomputing a batch before approval deletes its lines and stores new ones; at
-- province a zhuangda batch's 87,475 lines took 1.15 s to delete (EXPLAIN ANALYZE), 0.50 s of it
-- the foreign key from payee_corrections (a lookup per line) and 0.24 s the guard refusing to
-- delete an approved batch's line (a PL/pgSQL call and a lookup of the batch per line). A
-- benchmark's second and third computations of a batch were 1.3-2.9 s slower than its first.
--
-- What the key and the guard guaranteed still holds, for every role:
--   * a line of an approved, exported, paid or closed batch is never deleted, and a line a payee
--     correction names is never deleted: checked by a statement-level trigger over the deleted
--     lines (batch lines are not truncated, and a line's id never changes: sql/010, sql/034);
--   * a new payee correction's line exists and is locked (FOR KEY SHARE) so that it cannot go
--     before the correction's transaction commits: checked by a statement-level trigger over the
--     inserted corrections;
--   * a correction never moves to another line (a row trigger that fires only when its line
--     changes).
-- A missing or kept line is reported under the old constraint's name. The removal's trigger is
-- named to fire before batch_lines_items_kept (AFTER triggers fire in name order), so that an
-- approved batch's line is refused as such, as the row guard did, not for its items.
ALTER TABLE payee_corrections DROP CONSTRAINT payee_corrections_batch_line_id_fkey;
DROP TRIGGER batch_lines_guard_delete ON batch_lines;

CREATE FUNCTION batch_lines_removed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    line bigint;
    batch bigint;
    batch_state text;
BEGIN
    SELECT o.id, b.id, b.state INTO line, batch, batch_state
    FROM old_lines o JOIN batches b ON b.id = o.batch_id
    WHERE b.state IN ('approved', 'exported', 'paid', 'closed')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'line % belongs to batch %, which is %: it cannot be deleted', line, batch, batch_state
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT o.id INTO line
    FROM old_lines o
    WHERE EXISTS (SELECT 1 FROM payee_corrections c WHERE c.batch_line_id = o.id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'batch line % has payee corrections: it is kept with them', line
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'payee_corrections_batch_line_id_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER batch_lines_guarded_removal AFTER DELETE ON batch_lines REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION batch_lines_removed();

CREATE FUNCTION payee_corrections_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint[];
    found bigint[];
BEGIN
    SELECT array_agg(DISTINCT batch_line_id) INTO wanted FROM new_corrections;
    SELECT array_agg(id) INTO found FROM (SELECT id FROM batch_lines WHERE id = ANY(wanted) FOR KEY SHARE) l;
    IF cardinality(wanted) > coalesce(cardinality(found), 0) THEN
        RAISE EXCEPTION 'batch line % does not exist: a payee correction names the line it corrects',
            (SELECT min(w) FROM unnest(wanted) AS w WHERE w <> ALL(coalesce(found, '{}')))
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'payee_corrections_batch_line_id_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER payee_corrections_checked AFTER INSERT ON payee_corrections REFERENCING NEW TABLE AS new_corrections
    FOR EACH STATEMENT EXECUTE FUNCTION payee_corrections_checked();
CREATE TRIGGER payee_corrections_line_fixed BEFORE UPDATE OF batch_line_id ON payee_corrections FOR EACH ROW
    WHEN (OLD.batch_line_id <> NEW.batch_line_id) EXECUTE FUNCTION refuse_change('a payee correction stays with its line');
