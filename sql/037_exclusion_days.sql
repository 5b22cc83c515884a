-- An item left out because its firm held no qualification on a day, "firm not qualified on
-- <day>", is stored as that day and worded when read (issue 12). It is nearly every exclusion
-- of a batch: a province 新易贷 batch leaves out 217,668 interest records of 15,366 firms this
-- way, and their sentences, 35 bytes in English and 230 in Chinese for each record, were built
-- by the engine, sent, parsed and compressed for every record. Sets of this code computed from
-- now on keep `days` (one per item, in the items' order) in place of `reasons` and
-- `reasons_zh`; every other set, and every set stored before, keeps its words.
--
-- batch_exclusions gives the same rows as before for both kinds of set: exclusion_reason writes
-- the words the engine writes (ExclusionReason.firmNotQualified; BatchTests reads them back).
ALTER TABLE batch_exclusion_sets ADD COLUMN days date[];
ALTER TABLE batch_exclusion_sets ALTER COLUMN reasons DROP NOT NULL, ALTER COLUMN reasons_zh DROP NOT NULL;
ALTER TABLE batch_exclusion_sets DROP CONSTRAINT batch_exclusion_sets_check;
ALTER TABLE batch_exclusion_sets ADD CONSTRAINT batch_exclusion_sets_check CHECK (
    cardinality(item_ids) > 0 AND CASE WHEN days IS NULL
        THEN reasons IS NOT NULL AND reasons_zh IS NOT NULL
             AND cardinality(reasons) = cardinality(item_ids) AND cardinality(reasons_zh) = cardinality(item_ids)
        ELSE code = 'firm_not_qualified' AND reasons IS NULL AND reasons_zh IS NULL
             AND cardinality(days) = cardinality(item_ids) AND array_position(days, NULL) IS NULL
    END);

CREATE FUNCTION exclusion_reason(code text, day date, chinese boolean) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE code WHEN 'firm_not_qualified' THEN CASE WHEN chinese
        THEN '企业在 ' || to_char(day, 'YYYY-MM-DD') || ' 不具备优质中小企业资格（创新型或科技和创新型中小企业、专精特新中小企业、专精特新“小巨人”均无有效认定）'
        ELSE 'firm not qualified on ' || to_char(day, 'YYYY-MM-DD') END END
$$;

COMMENT ON FUNCTION exclusion_reason(text, date, boolean) IS
    'The words of an exclusion stored as its code and day (sql/037): firm_not_qualified, in English or Chinese.';

CREATE OR REPLACE VIEW batch_exclusions AS
SELECT s.batch_id, t.item_id, s.kind, s.code,
       coalesce(t.reason, exclusion_reason(s.code, t.day, false)) AS reason,
       coalesce(t.reason_zh, exclusion_reason(s.code, t.day, true)) AS reason_zh,
       s.recipient_uscc
FROM batch_exclusion_sets s CROSS JOIN LATERAL unnest(s.item_ids, s.reasons, s.reasons_zh, s.days) AS t(item_id, reason, reason_zh, day);

COMMENT ON COLUMN batch_exclusion_sets.days IS
    'For a firm_not_qualified set (sql/037): the day each item''s firm held no qualification, worded by exclusion_reason; reasons and reasons_zh are then NULL.';
