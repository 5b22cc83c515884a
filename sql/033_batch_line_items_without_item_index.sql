-- The items' index on item_id alone (sql/004, "for earlier-year lookups") is read by no query of
-- the service: since sql/010 the earlier-year lookups (a 新易贷 loan's lifetime cap, an
-- investment pair's cap) go through cap_key and its own index, and a line's items are read by the
-- primary key (batch_line_id, item_id). Kept up to date, it was a third B-tree insert for every
-- item a batch stores (895,960 in a nation 新易贷 batch): dropping it took a province 新易贷
-- batch's items insert from 1,303–1,359 ms to 856–944 ms of statement time (issue 12). An
-- auditor asking which batches paid a 新易贷 loan or an investment pair finds them by the cap key
-- (loan:<bank>/<number>, or the pair's), which is indexed; for other items the question reads the
-- items whole, as it would any table without an index for it.
DROP INDEX batch_line_items_item;
