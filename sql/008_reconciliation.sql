-- Bank statements, their entries, what each entry settled, uploads waiting for the daemon,
-- and the daemon's heartbeat.

ALTER TABLE batch_lines DROP CONSTRAINT batch_lines_status_check;
ALTER TABLE batch_lines ADD CONSTRAINT batch_lines_status_check CHECK (status IN ('active', 'excluded', 'paid', 'returned'));

CREATE TABLE statements (
    id              bigserial PRIMARY KEY,
    -- SHA-256 over the statement's normalized content: the same statement imported again, from
    -- the same file or another, is recognised and changes nothing.
    fingerprint     bytea NOT NULL UNIQUE CHECK (length(fingerprint) = 32),
    source          text NOT NULL,
    format          text NOT NULL CHECK (format IN ('mt940', 'camt053', 'csv')),
    account         text NOT NULL,
    currency        text NOT NULL,
    statement_number text NOT NULL,
    opening_fen     bigint,
    opening_date    date,
    closing_fen     bigint,
    closing_date    date,
    -- opening + Σ entries − closing; 0 when the statement adds up.
    balance_difference_fen bigint,
    -- first (no earlier statement of the account), ok, gap or overlap against the previous one.
    continuity      text NOT NULL CHECK (continuity IN ('first', 'ok', 'gap', 'overlap', 'unknown')),
    continuity_note text NOT NULL DEFAULT '',
    entries         integer NOT NULL,
    imported_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX statements_account ON statements (account, closing_date, id);

CREATE TABLE statement_entries (
    id              bigserial PRIMARY KEY,
    statement_id    bigint NOT NULL REFERENCES statements (id),
    entry_no        integer NOT NULL,
    amount_fen      bigint NOT NULL,
    currency        text NOT NULL,
    value_date      date,
    booking_date    date,
    reference       text,
    bank_reference  text,
    description     text NOT NULL,
    counterparty_name text,
    counterparty_account text,
    category        text NOT NULL CHECK (category IN ('matched', 'suggested', 'unexpected', 'mismatch', 'returned', 'duplicate', 'other')),
    rule            text NOT NULL,
    explanation     text NOT NULL,
    UNIQUE (statement_id, entry_no)
);

-- What an entry did to a line: paid it, returned it, or (for a clerk) suggests, mismatches or
-- duplicates it. `journal_seq` is the ledger entry posted for a payment or a return.
CREATE TABLE entry_lines (
    entry_id        bigint NOT NULL REFERENCES statement_entries (id),
    batch_line_id   bigint NOT NULL REFERENCES batch_lines (id),
    kind            text NOT NULL CHECK (kind IN ('payment', 'return', 'suggestion', 'mismatch', 'duplicate')),
    journal_seq     bigint REFERENCES journal_entries (seq),
    returned_by     bigint REFERENCES statement_entries (id),
    PRIMARY KEY (entry_id, batch_line_id, kind)
);
-- A line is paid by at most one entry at a time (a return frees it for re-issue).
CREATE UNIQUE INDEX entry_lines_one_payment ON entry_lines (batch_line_id) WHERE kind = 'payment' AND returned_by IS NULL;
CREATE INDEX entry_lines_line ON entry_lines (batch_line_id);

CREATE TABLE statement_uploads (
    id              bigserial PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    name            text NOT NULL,
    format          text,
    profile         text,
    content         bytea NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'rejected')),
    statement_ids   bigint[] NOT NULL DEFAULT '{}',
    error           text,
    processed_at    timestamptz
);
CREATE INDEX statement_uploads_pending ON statement_uploads (id) WHERE status = 'pending';

-- Wakes the daemon (LISTEN statements) as soon as an upload arrives.
CREATE FUNCTION statement_uploads_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('statements', NEW.id::text);
    RETURN NEW;
END;
$$;
CREATE TRIGGER statement_uploads_notify AFTER INSERT ON statement_uploads
    FOR EACH ROW EXECUTE FUNCTION statement_uploads_notify();

CREATE TABLE daemon_status (
    id              integer PRIMARY KEY CHECK (id = 1),
    started_at      timestamptz NOT NULL,
    heartbeat_at    timestamptz NOT NULL,
    files_processed bigint NOT NULL DEFAULT 0,
    files_rejected  bigint NOT NULL DEFAULT 0,
    uploads_processed bigint NOT NULL DEFAULT 0,
    statements_imported bigint NOT NULL DEFAULT 0,
    last_error      text
);
