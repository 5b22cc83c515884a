-- A batch line's record-level steps stored as their figures, worded when read (issue 12).
-- A province zhuangda batch has two steps per interest record (3.2 million): their texts,
-- "2,380,000.00 × 3.55% × 31 / 360 = 7,275.53" and "min(7,275.53, paid 9,222.50) = 7,275.53",
-- were formatted by the engine, parsed by json_in and compressed by the server for every
-- record. Lines computed from now on store version 3 of the compact form (sql/029) where a
-- line has such steps: a step keeps its numbers in place of its text and amount,
--   [rule, clause, item|null, 1, balance, rate, days, basis, interest]   an LPR interest
--   [rule, clause, item|null, 2, lprInterest, paid, base]               a base
-- amounts in 分, the rate an index into the document's "rates" (the rates' texts, "3.55"), and
-- the words are StepFigures.text's: the calculator's own. Other steps, and lines stored before,
-- are as they were.
--
-- explanation_steps(explanation) gives auditors the same array of step objects for every
-- version, writing these steps' texts and amounts in the same words and digits (the service's
-- reading and this function are compared line by line in BatchTests).
CREATE FUNCTION explanation_money(fen text, grouped boolean) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(fen::numeric / 100, CASE WHEN grouped THEN 'FM999,999,999,999,999,990.00' ELSE 'FM999999999999999990.00' END)
$$;

COMMENT ON FUNCTION explanation_money(text, boolean) IS
    'An amount in 分 as explanations write it: 7275.53, or grouped 7,275.53 (Money.plain and Money.grouped).';

CREATE OR REPLACE FUNCTION explanation_steps(stored json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN json_typeof(stored) = 'array' THEN stored ELSE (
        SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
                   'rule', stored->'rules'->>((s->>0)::int),
                   'clause', stored->'clauses'->>((s->>1)::int),
                   'text', CASE json_typeof(s->3)
                       WHEN 'string' THEN s->>3
                       ELSE CASE s->>3
                           WHEN '1' THEN explanation_money(s->>4, true) || ' × ' || (stored->'rates'->>((s->>5)::int)) || '% × '
                                         || (s->>6) || ' / ' || (s->>7) || ' = ' || explanation_money(s->>8, true)
                           WHEN '2' THEN 'min(' || explanation_money(s->>4, true) || ', paid ' || explanation_money(s->>5, true)
                                         || ') = ' || explanation_money(s->>6, true)
                       END
                   END,
                   'amount', CASE json_typeof(s->3)
                       WHEN 'string' THEN s->>4
                       ELSE CASE s->>3 WHEN '1' THEN explanation_money(s->>8, false) WHEN '2' THEN explanation_money(s->>6, false) END
                   END,
                   'item', stored->'items'->>((s->>2)::int))) ORDER BY n), '[]'::json)
        FROM json_array_elements(stored->'steps') WITH ORDINALITY AS t(s, n)) END
$$;

COMMENT ON COLUMN batch_lines.explanation IS
    'The award''s explanation steps: {"v":3,"steps":[[rule,clause,item,text,amount] or [rule,clause,item,kind,figures…]],"rules","clauses","items","rates"} (sql/031; "v":2 without figures, sql/029), or an array of step objects (lines stored earlier). explanation_steps(explanation) gives the array form of any.';
