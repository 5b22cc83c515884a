-- A batch's exclusions stored a row per recipient and reason code, their items and reasons as
-- arrays in the engine's order (issue 12). A province zhuangda batch excludes 216,052 interest
-- records, nearly all "firm not qualified on <day>" of 15,403 firms: a row and an index entry
-- each were about 0.9 s of the batch's statement time and the writes of a whole table. Every
-- exclusion is kept, item by item, with its own reasons in both languages.
--
-- batch_exclusions stays, as a view with its former columns (an item a row), for the service's
-- readers and for auditors.
CREATE TABLE batch_exclusion_sets (
    batch_id        bigint NOT NULL,
    recipient_uscc  text NOT NULL,
    kind            text NOT NULL,
    code            text NOT NULL,
    item_ids        text[] NOT NULL,
    reasons         text[] NOT NULL,
    reasons_zh      text[] NOT NULL,
    PRIMARY KEY (batch_id, recipient_uscc, kind, code),
    CHECK (cardinality(item_ids) > 0 AND cardinality(reasons) = cardinality(item_ids)
           AND cardinality(reasons_zh) = cardinality(item_ids))
);
ALTER TABLE batch_exclusion_sets ALTER COLUMN item_ids SET COMPRESSION lz4;
ALTER TABLE batch_exclusion_sets ALTER COLUMN reasons SET COMPRESSION lz4;
ALTER TABLE batch_exclusion_sets ALTER COLUMN reasons_zh SET COMPRESSION lz4;

INSERT INTO batch_exclusion_sets (batch_id, recipient_uscc, kind, code, item_ids, reasons, reasons_zh)
SELECT batch_id, recipient_uscc, kind, code, array_agg(item_id ORDER BY item_id COLLATE "C"),
       array_agg(reason ORDER BY item_id COLLATE "C"), array_agg(reason_zh ORDER BY item_id COLLATE "C")
FROM batch_exclusions
GROUP BY batch_id, recipient_uscc, kind, code;

DROP TABLE batch_exclusions;

CREATE VIEW batch_exclusions AS
SELECT s.batch_id, t.item_id, s.kind, s.code, t.reason, t.reason_zh, s.recipient_uscc
FROM batch_exclusion_sets s CROSS JOIN LATERAL unnest(s.item_ids, s.reasons, s.reasons_zh) AS t(item_id, reason, reason_zh);

COMMENT ON VIEW batch_exclusions IS
    'A batch''s excluded items, a row each, from batch_exclusion_sets (sql/032): item, kind, reason code and reasons in both languages, and the recipient.';

-- Recomputing a batch before approval replaces its exclusions, as before (sql/011).
GRANT DELETE ON batch_exclusion_sets TO subsidy_service;
