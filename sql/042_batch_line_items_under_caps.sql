-- batch_line_items holds, as rows, only the items under a cap that spans years (issue 12): a
-- 新易贷 loan's lifetime cap, an equity or fund pair's. Those are what approval and later
-- computations look up by cap key (`granted_items`). Every item of a line, capped or not, stays in
-- the line's `items`, written with it and never changed (sql/039).
--
-- A province zhuangda batch wrote 135,718 item rows, none under such a cap. Nothing read them, and
-- their insert and its per-statement check (sql/030) took 1.0 s of the batch's statement time.
-- Rows written before this migration stay as they are.
COMMENT ON TABLE batch_line_items IS
    'The items of batch lines under a cap that spans years, with the cap''s key and what the computation took as granted under it in other years (sql/010); since sql/042 only those. Every item of a line is in batch_lines.items.';
COMMENT ON COLUMN batch_lines.items IS
    'The award''s items as JSON text (sql/039; written by the service, never changed): [{"id","kind","amount"}]. Those under a cap that spans years are also rows of batch_line_items (sql/042).';
