-- A journal entry's seq is the one after the chain's head, given by Ledger.post under the chain's
-- lock (issue 12): the identity's sequence is no longer drawn from. Left in place it would read as
-- the source of seqs and, for an insert without one, hand out a number unrelated to the chain.
-- Without it such an insert is refused (seq is NOT NULL, as the primary key).
ALTER TABLE journal_entries ALTER COLUMN seq DROP IDENTITY;
