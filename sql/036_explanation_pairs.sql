-- A batch line's LPR interest and its base stored as one member (issue 12). Every eligible
-- 壮大贷 record has the two steps, one after the other, of the same clause and loan, the base
-- taking the interest just figured and being the lesser of it and the interest paid:
--   [r1, clause, item, 1, balance, rate, days, basis, interest], [r2, clause, item, 2, interest, paid, base]
-- repeated the rule, clause, item and interest for each of a province batch's 1.6 million records.
-- Lines computed from now on store version 4 of the compact form (sql/029, sql/031), in which
-- such a pair is
--   [r1, clause, item, 3, balance, rate, days, basis, interest, paid, r2]
-- and the base is least(interest, paid); a pair that is not so (never written by the engine)
-- stays two members. Kinds 1 and 2, and lines stored before, are as they were.
--
-- explanation_steps(explanation) reads every version: a kind-3 member gives the two step objects,
-- in the same words and digits as the service (compared line by line in BatchTests).
CREATE OR REPLACE FUNCTION explanation_steps(stored json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN json_typeof(stored) = 'array' THEN stored ELSE (
        SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
                   'rule', stored->'rules'->>x.r,
                   'clause', stored->'clauses'->>((s->>1)::int),
                   'text', CASE x.k
                       WHEN '1' THEN explanation_money(x.a, true) || ' × ' || (stored->'rates'->>(x.b::int)) || '% × '
                                     || x.c || ' / ' || x.d || ' = ' || explanation_money(x.e, true)
                       WHEN '2' THEN 'min(' || explanation_money(x.a, true) || ', paid ' || explanation_money(x.b, true)
                                     || ') = ' || explanation_money(x.c, true)
                       ELSE s->>3
                   END,
                   'amount', CASE x.k
                       WHEN '1' THEN explanation_money(x.e, false)
                       WHEN '2' THEN explanation_money(x.c, false)
                       ELSE s->>4
                   END,
                   'item', stored->'items'->>((s->>2)::int))) ORDER BY n, x.p), '[]'::json)
        FROM json_array_elements(stored->'steps') WITH ORDINALITY AS t(s, n)
        -- A member's steps: its own (a text step's kind is NULL), or a pair's two.
        CROSS JOIN LATERAL (
            SELECT 1 AS p, (s->>0)::int AS r,
                   CASE WHEN json_typeof(s->3) <> 'number' THEN NULL WHEN s->>3 = '3' THEN '1' ELSE s->>3 END AS k,
                   s->>4 AS a, s->>5 AS b, s->>6 AS c, s->>7 AS d, s->>8 AS e
            UNION ALL
            SELECT 2, (s->>10)::int, '2', s->>8, s->>9, least((s->>8)::bigint, (s->>9)::bigint)::text, NULL, NULL
            WHERE json_typeof(s->3) = 'number' AND s->>3 = '3') x) END
$$;

COMMENT ON COLUMN batch_lines.explanation IS
    'The award''s explanation steps: {"v":4,"steps":[[rule,clause,item,text,amount] or [rule,clause,item,kind,figures…]],"rules","clauses","items","rates"} (sql/036: kind 3 an LPR interest and its base; "v":3 without kind 3, sql/031; "v":2 without figures, sql/029), or an array of step objects (lines stored earlier). explanation_steps(explanation) gives the array form of any.';
