-- A line's explanation and items are stored as json (the text, checked to be JSON) instead of
-- jsonb (parsed into PostgreSQL's binary form) (issue 12). Nothing queries inside them: the
-- service writes them once, at computation, and reads them back whole as text for the line's
-- page, the voucher and the CLI. Parsing into jsonb was the largest cost of storing a chunk's
-- lines: 5,000 zhuangda lines (5.6 kB of explanation each) 220-243 ms as jsonb, 89-93 ms as json
-- (EXPLAIN ANALYZE at province), at about the same size on disk (12.6 against 11.7 MB).
ALTER TABLE batch_lines
    ALTER COLUMN explanation TYPE json USING explanation::json,
    ALTER COLUMN items TYPE json USING items::json;
ALTER TABLE batch_lines ALTER COLUMN explanation SET COMPRESSION lz4;
ALTER TABLE batch_lines ALTER COLUMN items SET COMPRESSION lz4;
