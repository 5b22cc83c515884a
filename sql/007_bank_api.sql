-- The bank API: tokens, uploads (with their idempotency keys), and which records each batch used.

-- A bank's API tokens: 256 random bits shown once at creation, stored only as a SHA-256 hash.
CREATE TABLE bank_tokens (
    id              bigserial PRIMARY KEY,
    bank_code       text NOT NULL REFERENCES banks (code),
    token_sha256    bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    label           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX bank_tokens_bank ON bank_tokens (bank_code);

-- Every accepted upload, and the answer given, so that a retried upload with the same
-- Idempotency-Key and body gets the same answer and stores nothing twice.
CREATE TABLE uploads (
    id              bigserial PRIMARY KEY,
    bank_code       text NOT NULL REFERENCES banks (code),
    kind            text NOT NULL CHECK (kind IN ('loans', 'interest_records')),
    content_type    text NOT NULL,
    idempotency_key text,
    body_sha256     bytea NOT NULL,
    records         integer NOT NULL,
    response        jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bank_code, kind, idempotency_key)
);

ALTER TABLE interest_records
    ADD COLUMN firm_name text,
    ADD COLUMN upload_id bigint REFERENCES uploads (id),
    -- A new version of a record that an approved batch had already used: the next supplementary
    -- batch settles the difference.
    ADD COLUMN is_correction boolean NOT NULL DEFAULT false;
CREATE INDEX interest_records_loan ON interest_records (loan_id, period_from);

-- Which interest records each batch's computation used.
CREATE TABLE batch_records (
    batch_id        bigint NOT NULL REFERENCES batches (id),
    record_id       bigint NOT NULL REFERENCES interest_records (id),
    PRIMARY KEY (batch_id, record_id)
);
CREATE INDEX batch_records_record ON batch_records (record_id);
