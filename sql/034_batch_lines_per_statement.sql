-- A batch line's batch checked once per statement instead of once per row (issue 12). A
-- computation stores its lines chunk by chunk on one connection, and that connection is what a
-- province batch waits for (the engine waits on the store every chunk): the per-row foreign key
-- queued a trigger event and ran a lookup with a FOR KEY SHARE lock on the batch's row for each
-- of a province zhuangda batch's 87,475 lines, about 0.3 s of the store's time (perf: the
-- executor's after-trigger work 3.1 % of the machine's samples, with the items' check).
--
-- What the key guaranteed still holds, for every role:
--   * every new line's batch exists, and is locked (FOR KEY SHARE, once per batch) so that it
--     cannot go before the line's transaction commits: checked by a statement-level trigger over
--     the inserted lines;
--   * a line never moves to another batch (a row trigger that fires only when batch_id changes);
--   * a batch is not deleted while lines name it: checked by a statement-level trigger over the
--     deleted batches; batches are not truncated, and a batch's id never changes. The service's
--     role may not delete batches at all (sql/011); these hold for the schema's owner too.
-- A missing batch is reported under the old constraint's name.
ALTER TABLE batch_lines DROP CONSTRAINT batch_lines_batch_id_fkey;

CREATE FUNCTION batch_lines_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint[];
    found bigint[];
BEGIN
    SELECT array_agg(DISTINCT batch_id) INTO wanted FROM new_lines;
    SELECT array_agg(id) INTO found FROM (SELECT id FROM batches WHERE id = ANY(wanted) FOR KEY SHARE) b;
    IF cardinality(wanted) > coalesce(cardinality(found), 0) THEN
        RAISE EXCEPTION 'batch % does not exist: a line belongs to the batch that awards it',
            (SELECT min(w) FROM unnest(wanted) AS w WHERE w <> ALL(coalesce(found, '{}')))
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'batch_lines_batch_id_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER batch_lines_checked AFTER INSERT ON batch_lines REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION batch_lines_checked();
CREATE TRIGGER batch_lines_batch_fixed BEFORE UPDATE OF batch_id ON batch_lines FOR EACH ROW
    WHEN (OLD.batch_id <> NEW.batch_id) EXECUTE FUNCTION refuse_change('a batch line stays in its batch');

CREATE FUNCTION batches_lines_kept() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kept bigint;
BEGIN
    SELECT o.id INTO kept
    FROM old_batches o
    WHERE EXISTS (SELECT 1 FROM batch_lines l WHERE l.batch_id = o.id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'batch % still has lines: a batch goes only after its lines', kept
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'batch_lines_batch_id_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER batches_lines_kept AFTER DELETE ON batches REFERENCING OLD TABLE AS old_batches
    FOR EACH STATEMENT EXECUTE FUNCTION batches_lines_kept();
CREATE TRIGGER batches_not_truncated BEFORE TRUNCATE ON batches
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('batches go only one by one, after their lines');
CREATE TRIGGER batches_id_fixed BEFORE UPDATE OF id ON batches FOR EACH ROW WHEN (OLD.id <> NEW.id)
    EXECUTE FUNCTION refuse_change('a batch''s id never changes');
