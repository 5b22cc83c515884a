-- Autovacuum passes over interest_records after each sizeable upload, not after a fifth of the
-- table has changed (issue 12).
--
-- A bank re-sending a month supersedes the stored versions (an UPDATE of each) and inserts the
-- new ones. Until VACUUM passes, the pages those rows are on are not all-visible, and a batch's
-- read of the year's records (the index-only scan of sql/035) visits the heap for each record on
-- them. At province, one re-sent month of 37,538 records left 26,246 of the table's 55,805 pages
-- not all-visible; a zhuangda batch computed then took 5.95 / 6.39 / 5.95 / 6.03 / 6.22 s and
-- 5.1-5.8 s of PostgreSQL's CPU, against 5.85 / 5.41 / 5.45 / 5.82 s and 4.4-5.2 s once the table
-- was vacuumed (alternating runs on copies of one database, `subsidy batch compute`).
--
-- With PostgreSQL's defaults autovacuum waits for dead or inserted rows numbering 20 % of the
-- table (analyze: 10 %): 700,000 of a province's 3.48 million records, two months of every
-- bank's uploads, and more at nation scale. At 1 % (35,000 at province) it passes after one
-- bank's re-sent month (37,538 records here) or a month of new records (337,253), long before
-- the year's batches are computed. The vacuum itself runs in the background, throttled.
ALTER TABLE interest_records SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.01
);
