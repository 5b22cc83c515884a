-- A line's explanation and items stored as text, not json, and kept as written (issue 12).
--
-- replaces a77e29c9bb63762fbf9cb62fbc273e079df920f146d21824f7bad79b05e5297a: this file as first
-- applied, which set lz4 compression unconditionally and so stopped at this migration on a server
-- built without lz4. A database that applied it has the same schema; the Migrator accepts either.
--
-- The json type checks its input by parsing it: json_in ran PostgreSQL's JSON parser over every
-- explanation a batch stored. At province a zhuangda batch's 87,475 explanations (104 MB of
-- text) took 620-865 ms to insert into a json column and 154-214 ms into a text one (psql, the
-- same rows, alternated), on a database that is the batch's bottleneck with the engine. The
-- service writes these documents itself (ExplanationStep.storedJSON, written in one buffer and
-- read back by the service's own parser in every test), nothing queries inside them, and
-- readers parse them anyway: the check bought nothing the service does not already know.
--
-- What the column guaranteed and the type no longer does is now said for every role, and more:
--   * explanation_steps(explanation) reads the text column as before (an overload that parses
--     it), for an auditor's query; explanation::json gives the stored document itself;
--   * a line's explanation and items never change once written: nothing in the service updates
--     them, and until now nothing refused it (json has no equality, so the guard of sql/010 and
--     sql/021 could not compare them). A trigger that fires only on an UPDATE naming either
--     column refuses any change, so paying, freezing payees or excluding a line costs nothing
--     more. A recomputation before approval deletes the lines and writes new ones, as before.
ALTER TABLE batch_lines
    ALTER COLUMN explanation TYPE text USING explanation::text,
    ALTER COLUMN items TYPE text USING items::text;
-- lz4 compresses the two columns where this server was built with it; a server built without lz4
-- refuses SET COMPRESSION lz4, so there they keep PostgreSQL's pglz (larger, slower to write, the
-- same text). default_toast_compression lists lz4 among its values exactly when lz4 is built in.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE batch_lines ALTER COLUMN explanation SET COMPRESSION lz4, ALTER COLUMN items SET COMPRESSION lz4;
    END IF;
END
$$;
ALTER TABLE batch_lines ALTER COLUMN items SET STATISTICS 0, ALTER COLUMN explanation SET STATISTICS 0;

CREATE FUNCTION explanation_steps(stored text) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT explanation_steps(stored::json)
$$;
COMMENT ON FUNCTION explanation_steps(text) IS
    'A batch line''s stored explanation (batch_lines.explanation, text since sql/039) as the array of step objects: explanation_steps(json) over the parsed text.';

CREATE TRIGGER batch_lines_explained BEFORE UPDATE OF explanation, items ON batch_lines FOR EACH ROW
    WHEN (NEW.explanation IS DISTINCT FROM OLD.explanation OR NEW.items IS DISTINCT FROM OLD.items)
    EXECUTE FUNCTION refuse_change('a batch line''s explanation and items are written with it and never change');

COMMENT ON COLUMN batch_lines.explanation IS
    'The award''s explanation as JSON text (sql/039; written by the service, never changed): {"v":4,"steps":[[rule,clause,item,text,amount] or [rule,clause,item,kind,figures…]],"rules","clauses","items","rates"} (sql/036: kind 3 an LPR interest and its base; "v":3 without kind 3, sql/031; "v":2 without figures, sql/029), or an array of step objects (lines stored earlier). explanation_steps(explanation) gives the array form of any; explanation::json the document.';
COMMENT ON COLUMN batch_lines.items IS
    'The award''s items as JSON text (sql/039; written by the service, never changed): [{"id","kind","amount"}]. batch_line_items holds them as rows.';
