-- A batch line's explanation and items in a table of their own, so that a line is a narrow row
-- (issue 12). A line is written once with its explanation (about 1.2 KB of JSON text, 1 KB
-- compressed) and then updated several times without it: payees frozen at approval, exported,
-- paid by a statement, returned. Every such update copied the whole row, and every read of a
-- batch's lines by reference or number read pages that were mostly explanation: at province a
-- zhuangda batch's 87,475 lines took 263 MB of heap (fillfactor 50, sql/025). Measured on a
-- province database (psql, after a CHECKPOINT each, the same rows):
--   * 26,379 lines marked paid (a statement):           297-325 ms wide, 156-173 ms narrow;
--   * 87,475 payees frozen (an approval):               560-573 ms wide, 234-261 ms narrow;
--   * 87,475 lines inserted (a computation's store):  1,263-1,377 ms wide, 1,154 ms narrow lines
--     and their texts apart (46 MB of lines, fillfactor 50; 103 MB of texts, fillfactor 100:
--     texts are never updated, so they need no free space).
-- At nation, reading a statement's 162,174 named lines (the reconciliation's first query) was a
-- bitmap heap scan of 1.35 s over as many pages of the wide table (auto_explain).
--
-- What sql/039 guaranteed is kept, for every role: a line's explanation and items never change
-- (an UPDATE of the texts is refused); a line is never without them (the statement that inserts
-- lines must insert their texts: checked when it ends); texts belong to a line (checked when the
-- statement that inserts them ends) and go only with it (a DELETE of texts whose line still
-- exists is refused, so an approved batch's texts stay as its lines do).
CREATE TABLE batch_line_texts (
    line_id bigint PRIMARY KEY,
    items text NOT NULL,
    explanation text NOT NULL
);
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE batch_line_texts ALTER COLUMN explanation SET COMPRESSION lz4, ALTER COLUMN items SET COMPRESSION lz4;
    END IF;
END
$$;
ALTER TABLE batch_line_texts ALTER COLUMN items SET STATISTICS 0, ALTER COLUMN explanation SET STATISTICS 0;
COMMENT ON TABLE batch_line_texts IS
    'A batch line''s explanation and items (sql/047), written with the line in the same statement, never changed, deleted only with the line.';
COMMENT ON COLUMN batch_line_texts.explanation IS
    'The award''s explanation as JSON text (written by the service, never changed): {"v":4,"steps":[[rule,clause,item,text,amount] or [rule,clause,item,kind,figures…]],"rules","clauses","items","rates"} (sql/036: kind 3 an LPR interest and its base; "v":3 without kind 3, sql/031; "v":2 without figures, sql/029), or an array of step objects (lines stored earlier). explanation_steps(explanation) gives the array form of any; explanation::json the document.';
COMMENT ON COLUMN batch_line_texts.items IS
    'The award''s items as JSON text (written by the service, never changed): [{"id","kind","amount"}]. Those under a cap that spans years are also rows of batch_line_items (sql/042).';
COMMENT ON FUNCTION explanation_steps(text) IS
    'A batch line''s stored explanation (batch_line_texts.explanation, sql/047; text since sql/039) as the array of step objects: explanation_steps(json) over the parsed text.';

INSERT INTO batch_line_texts (line_id, items, explanation) SELECT id, items, explanation FROM batch_lines;
DROP TRIGGER batch_lines_explained ON batch_lines;
-- The dropped columns' bytes stay in the rows already stored until they are rewritten (a DBA's
-- VACUUM FULL batch_lines); lines stored from now on are narrow.
ALTER TABLE batch_lines DROP COLUMN items, DROP COLUMN explanation;

CREATE TRIGGER batch_line_texts_fixed BEFORE UPDATE OR TRUNCATE ON batch_line_texts FOR EACH STATEMENT
    EXECUTE FUNCTION refuse_change('a batch line''s explanation and items are written with it and never change');
GRANT DELETE ON batch_line_texts TO subsidy_service;

CREATE FUNCTION batch_line_texts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    line bigint;
BEGIN
    SELECT n.line_id INTO line FROM new_texts n
    WHERE NOT EXISTS (SELECT 1 FROM batch_lines l WHERE l.id = n.line_id)
    ORDER BY n.line_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'batch line % does not exist: an explanation belongs to the line it explains', line
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'batch_line_texts_line_id_fkey';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER batch_line_texts_inserted AFTER INSERT ON batch_line_texts REFERENCING NEW TABLE AS new_texts
    FOR EACH STATEMENT EXECUTE FUNCTION batch_line_texts_inserted();

CREATE FUNCTION batch_line_texts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    line bigint;
BEGIN
    SELECT o.line_id INTO line FROM old_texts o
    WHERE EXISTS (SELECT 1 FROM batch_lines l WHERE l.id = o.line_id)
    ORDER BY o.line_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'batch line % still exists: a line''s explanation and items go only with the line', line
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER batch_line_texts_removed AFTER DELETE ON batch_line_texts REFERENCING OLD TABLE AS old_texts
    FOR EACH STATEMENT EXECUTE FUNCTION batch_line_texts_removed();

-- A line is inserted with its texts, in one statement (sql/047): the batch check also finds each
-- new line's texts.
CREATE OR REPLACE FUNCTION batch_lines_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint[];
    found bigint[];
    line bigint;
BEGIN
    SELECT array_agg(DISTINCT batch_id) INTO wanted FROM new_lines;
    SELECT array_agg(id) INTO found FROM (SELECT id FROM batches WHERE id = ANY(wanted) FOR KEY SHARE) b;
    IF cardinality(wanted) > coalesce(cardinality(found), 0) THEN
        RAISE EXCEPTION 'batch % does not exist: a line belongs to the batch that awards it',
            (SELECT min(w) FROM unnest(wanted) AS w WHERE w <> ALL(coalesce(found, '{}')))
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'batch_lines_batch_id_fkey';
    END IF;
    SELECT n.id INTO line FROM new_lines n
    WHERE NOT EXISTS (SELECT 1 FROM batch_line_texts t WHERE t.line_id = n.id)
    ORDER BY n.id LIMIT 1;
    -- Not FOUND: the variable `found` (sql/034's name) hides it in this function.
    IF line IS NOT NULL THEN
        RAISE EXCEPTION 'batch line % has no explanation: a line is inserted with its explanation and items, in the same statement', line
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;
