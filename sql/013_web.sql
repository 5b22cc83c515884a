-- The web application (issue 11): sessions and sign-in attempts in PostgreSQL, each user's
-- language, a rehearsal database's chosen business day, staged 认定名单 imports, and the
-- approver's "send back" (退回) of a batch in 公示.

-- A session is known by the SHA-256 of its cookie; the cookie itself is never stored. It ends
-- on sign-out or after 30 minutes without a request (checked where it is read).
CREATE TABLE web_sessions (
    token_hash      bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id         bigint NOT NULL REFERENCES users (id),
    csrf_token      text NOT NULL CHECK (length(csrf_token) >= 32),
    address         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
GRANT UPDATE (last_seen), DELETE ON web_sessions TO subsidy_service;

-- Every sign-in attempt, kept for throttling (per login and per address) and for the auditor.
CREATE TABLE login_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    login           text NOT NULL,
    address         text NOT NULL,
    succeeded       boolean NOT NULL
);
CREATE INDEX login_attempts_login ON login_attempts (login, at);
CREATE INDEX login_attempts_address ON login_attempts (address, at);

ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en'));

-- The business day a rehearsal database uses for actions from the web (the CLI's `--today`):
-- each setting is a new row, the newest counts. A real database refuses any row.
CREATE TABLE rehearsal_days (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day             date NOT NULL,
    set_by          bigint NOT NULL REFERENCES users (id),
    set_at          timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION rehearsal_days_only_rehearsal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM installation WHERE rehearsal) THEN
        RAISE EXCEPTION 'this database is real: it dates every action by the server''s clock' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER rehearsal_days_only_rehearsal BEFORE INSERT ON rehearsal_days
    FOR EACH ROW EXECUTE FUNCTION rehearsal_days_only_rehearsal();
CREATE TRIGGER rehearsal_days_audited BEFORE INSERT OR UPDATE OR DELETE ON rehearsal_days FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- A 认定名单 read and checked, waiting for a clerk to resolve rows matched by name only. Nothing
-- reaches `firms` or `qualifications` until the clerk confirms; the draft is then marked done.
CREATE TABLE qualification_imports (
    id              bigserial PRIMARY KEY,
    created_by      bigint NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    file_name       text NOT NULL,
    level           text NOT NULL CHECK (level IN ('innovative', 'specialized', 'little_giant')),
    recognised_on   date NOT NULL,
    source          text NOT NULL CHECK (length(source) > 0),
    -- [{row, uscc, name, district}] as read from the file.
    rows            jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'imported', 'abandoned'))
);
GRANT UPDATE (state) ON qualification_imports TO subsidy_service;

-- 退回: an approver sends a batch in 公示 back for recomputation, with a reason.
INSERT INTO batch_transitions (action, from_state, to_state) VALUES ('send_back', 'publicity', 'computed');
