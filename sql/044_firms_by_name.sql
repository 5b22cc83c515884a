-- The firms' list in the web application is sorted by name by default, 50 a page (issue 12).
-- Without an index on the name, every page sorted all firms: at province (100,000 firms) the first
-- page took 90-139 ms, and the sort grows with the firms (600,000 at nation). With this index a
-- page by name is read in order and the query stops after it. The code breaks ties, as the page's
-- ORDER BY does.
CREATE INDEX firms_name ON firms (name, uscc);
