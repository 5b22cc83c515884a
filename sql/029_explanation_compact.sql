-- A batch line's explanation stored with each rule, clause and item written once (issue 12).
-- A province zhuangda batch stored 522 MB of explanation JSON (6.0 kB a line: two steps per
-- interest record, each repeating its rule, its clause and its loan), parsed by json_in and
-- lz4-compressed by the server: the largest write of the batch. New lines store
--   {"v":2,"steps":[[rule, clause, item|null, text, amount|null], …],"rules":[…],"clauses":[…],"items":[…]}
-- (the first three members of a step index the lists, numbered in order of first use). Lines stored earlier keep the array form;
-- both carry the same members, and the service reads either (ExplanationStep.steps(stored:)).
--
-- For auditors reading the database directly, explanation_steps(explanation) returns the array
-- form of either: [{"rule":…,"clause":…,"text":…,"amount":…,"item":…}, …], amount and item left
-- out where the step has none.
CREATE FUNCTION explanation_steps(stored json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN json_typeof(stored) = 'array' THEN stored ELSE (
        SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
                   'rule', stored->'rules'->>((s->>0)::int),
                   'clause', stored->'clauses'->>((s->>1)::int),
                   'text', s->>3,
                   'amount', s->>4,
                   'item', stored->'items'->>((s->>2)::int))) ORDER BY n), '[]'::json)
        FROM json_array_elements(stored->'steps') WITH ORDINALITY AS t(s, n)) END
$$;

COMMENT ON COLUMN batch_lines.explanation IS
    'The award''s explanation steps: {"v":2,"steps":[[rule,clause,item,text,amount]],"rules","clauses","items"} (sql/029), or an array of step objects (lines stored earlier). explanation_steps(explanation) gives the array form of either.';
