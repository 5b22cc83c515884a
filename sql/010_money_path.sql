-- The money path, made hard to bend (issue 9): the conditions it rests on named once as views,
-- the cap history of items across years, payees frozen at approval with four-eyes corrections,
-- the bureau's own disbursement accounts, rehearsal databases, balance whatever the constraint
-- mode, audited reference data, and interest periods that cannot overlap.

-- "Granted": a batch that was approved (and perhaps exported, paid, closed) …
CREATE VIEW granted_batches AS
SELECT * FROM batches WHERE state IN ('approved', 'exported', 'paid', 'closed');

-- … and a line of such a batch that was approved (and perhaps exported, paid, closed), unless a
-- clerk excluded it. Every cap, every "previously granted" and the budget read this view.
CREATE VIEW granted_lines AS
SELECT bl.id, bl.batch_id, bl.recipient_uscc, bl.computed_fen, bl.previously_fen, bl.amount_fen, bl.status,
       b.program, b.year, b.district
FROM batch_lines bl JOIN granted_batches b ON b.id = bl.batch_id
WHERE bl.status <> 'excluded';

-- Caps that span years are keyed: a 新易贷 loan (its lifetime cap), an equity or fund pair
-- (investor, investee). `awarded_before_fen` is what the computation took as already granted
-- under that key in other years; approval refuses the line when that has changed since.
ALTER TABLE batch_line_items
    ADD COLUMN cap_key text,
    ADD COLUMN awarded_before_fen bigint CHECK (awarded_before_fen >= 0);
UPDATE batch_line_items i SET cap_key = 'loan:' || i.item_id
FROM batch_lines bl JOIN batches b ON b.id = bl.batch_id
WHERE bl.id = i.batch_line_id AND i.kind = 'loan' AND b.program = 'xinyidai';
UPDATE batch_line_items i SET cap_key = inv.kind || ':' || inv.investor_uscc || ':' || inv.investee_uscc
FROM investments inv WHERE i.kind = 'investment' AND inv.ref = i.item_id;
CREATE INDEX batch_line_items_cap ON batch_line_items (cap_key) WHERE cap_key IS NOT NULL;

CREATE VIEW granted_items AS
SELECT i.item_id, i.kind, i.cap_key, i.amount_fen, g.program, g.year, g.batch_id, g.recipient_uscc
FROM batch_line_items i JOIN granted_lines g ON g.id = i.batch_line_id;

-- The payee (name, account, bank) is frozen on the line when the batch is approved; the payment
-- file and the matcher read only these columns. Lines approved before this migration take the
-- firm's account as it is now (what the export read until then).
ALTER TABLE batch_lines
    ADD COLUMN payee_name text,
    ADD COLUMN payee_account text,
    ADD COLUMN payee_bank text;
UPDATE batch_lines bl SET payee_name = coalesce(f.account_name, bl.recipient_name), payee_account = f.account_no, payee_bank = f.account_bank
FROM firms f, batches b
WHERE f.uscc = bl.recipient_uscc AND b.id = bl.batch_id AND b.state IN ('approved', 'exported', 'paid', 'closed');

-- "Payable": a positive, not excluded line of an exported batch — what a statement may pay,
-- return or pay twice. `open` lines still wait for their money.
CREATE VIEW payable_lines AS
SELECT bl.id, bl.batch_id, bl.line_no, bl.payment_ref, bl.recipient_uscc, bl.recipient_name, bl.payee_name, bl.payee_account,
       bl.payee_bank, bl.amount_fen, bl.status, bl.status IN ('active', 'returned') AS open, b.exported_at, b.program, b.year
FROM batch_lines bl JOIN batches b ON b.id = bl.batch_id
WHERE b.state IN ('exported', 'paid', 'closed') AND bl.amount_fen > 0 AND bl.status IN ('active', 'paid', 'returned');

-- A changed payee after approval: requested by one person, applied by another.
CREATE TABLE payee_corrections (
    id              bigserial PRIMARY KEY,
    batch_line_id   bigint NOT NULL REFERENCES batch_lines (id),
    old_name        text,
    old_account     text,
    old_bank        text,
    new_name        text NOT NULL CHECK (length(btrim(new_name)) > 0),
    new_account     text NOT NULL CHECK (new_account ~ '^[0-9]{6,32}$'),
    new_bank        text NOT NULL CHECK (length(btrim(new_bank)) > 0),
    reason          text NOT NULL CHECK (length(btrim(reason)) > 0),
    state           text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'applied', 'rejected')),
    requested_by    bigint NOT NULL REFERENCES users (id),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    decided_by      bigint REFERENCES users (id),
    decided_at      timestamptz,
    CHECK (decided_by IS NULL OR decided_by <> requested_by),
    CHECK ((state = 'requested') = (decided_by IS NULL))
);
CREATE UNIQUE INDEX payee_corrections_open ON payee_corrections (batch_line_id) WHERE state = 'requested';

-- The bureau's own disbursement accounts: a statement is reconciled only when it is for one of
-- them, and through the API only when the bank holding it sent it.
CREATE TABLE disbursement_accounts (
    account_no      text PRIMARY KEY CHECK (account_no ~ '^[0-9A-Z]{6,34}$'),
    bank_code       text NOT NULL REFERENCES banks (code),
    name            text NOT NULL CHECK (length(btrim(name)) > 0),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A credit from a payee settling a recovery (应收) line: the firm repays what it owes.
ALTER TABLE statement_entries DROP CONSTRAINT statement_entries_category_check;
ALTER TABLE statement_entries ADD CONSTRAINT statement_entries_category_check
    CHECK (category IN ('matched', 'suggested', 'unexpected', 'mismatch', 'returned', 'duplicate', 'other', 'repayment'));
ALTER TABLE entry_lines DROP CONSTRAINT entry_lines_kind_check;
ALTER TABLE entry_lines ADD CONSTRAINT entry_lines_kind_check
    CHECK (kind IN ('payment', 'return', 'suggestion', 'mismatch', 'duplicate', 'repayment'));
CREATE UNIQUE INDEX entry_lines_one_repayment ON entry_lines (batch_line_id) WHERE kind = 'repayment';
ALTER TABLE batch_lines DROP CONSTRAINT batch_lines_status_check;
ALTER TABLE batch_lines ADD CONSTRAINT batch_lines_status_check CHECK (status IN ('active', 'excluded', 'paid', 'returned', 'repaid'));

-- What an upload failed on is said once, never retried forever.
ALTER TABLE statement_uploads ADD COLUMN attempts integer NOT NULL DEFAULT 0;

-- The installation: created once by `subsidy init`. A rehearsal database (demos, tests,
-- training) may date actions itself (`--today`); a real one never. The row cannot change.
CREATE TABLE installation (
    id              integer PRIMARY KEY CHECK (id = 1),
    rehearsal       boolean NOT NULL,
    initialised_at  timestamptz NOT NULL DEFAULT now(),
    admin_login     text NOT NULL
);
CREATE TRIGGER installation_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON installation
    FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change();

-- Balance whatever the constraint mode: the check also runs when a line is added, so that
-- `SET CONSTRAINTS … IMMEDIATE` followed by one more line cannot commit an unbalanced entry.
CREATE FUNCTION journal_check_balanced(entry bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
    lines integer;
BEGIN
    SELECT coalesce(sum(amount_fen), 0), count(*) INTO total, lines FROM journal_lines WHERE entry_seq = entry;
    IF lines < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'journal entry % is unbalanced: % lines summing to % fen (debits must equal credits)', entry, lines, total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END;
$$;
-- The entry's own check (sql/003) now shares the one definition.
CREATE OR REPLACE FUNCTION journal_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM journal_check_balanced(NEW.seq);
    RETURN NULL;
END;
$$;
CREATE FUNCTION journal_line_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM journal_check_balanced(NEW.entry_seq);
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_line_entry_balanced();

-- Reference data that moves money — policy, LPR, budgets, users, banks and their tokens, the
-- bureau's accounts, firms' payee accounts — changes only for a signed-in user: the command
-- sets `subsidy.actor` in its transaction, and every change is written to the audit log here,
-- whoever makes it. Only the schema's owner (migrations) may change it without an actor.
CREATE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor_text text := nullif(current_setting('subsidy.actor', true), '');
    owner_name text;
BEGIN
    SELECT pg_get_userbyid(relowner) INTO owner_name FROM pg_class WHERE oid = TG_RELID;
    -- The very first user (the admin `subsidy init` creates) has nobody to act for it.
    IF actor_text IS NULL AND current_user <> owner_name
       AND NOT (TG_TABLE_NAME = 'users' AND TG_OP = 'INSERT' AND NOT EXISTS (SELECT 1 FROM users)) THEN
        RAISE EXCEPTION '% on % needs a signed-in user: use the audited subsidy command', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO audit_log (actor, action, subject, detail)
    VALUES (actor_text::bigint, 'row.' || lower(TG_OP), TG_TABLE_NAME,
            jsonb_strip_nulls(jsonb_build_object(
                'old', CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'password_hash' END,
                'new', CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'password_hash' END)));
    RETURN coalesce(NEW, OLD);
END;
$$;
CREATE TRIGGER policy_versions_audited BEFORE INSERT OR UPDATE OR DELETE ON policy_versions FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER policy_parameters_audited BEFORE INSERT OR UPDATE OR DELETE ON policy_parameters FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER lpr_fixings_audited BEFORE INSERT OR UPDATE OR DELETE ON lpr_fixings FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER budgets_audited BEFORE INSERT OR UPDATE OR DELETE ON budgets FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER users_audited BEFORE INSERT OR UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER banks_audited BEFORE INSERT OR UPDATE OR DELETE ON banks FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER bank_tokens_audited BEFORE INSERT OR UPDATE OR DELETE ON bank_tokens FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER disbursement_accounts_audited BEFORE INSERT OR UPDATE OR DELETE ON disbursement_accounts FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER firms_accounts_audited BEFORE UPDATE OF account_name, account_no, account_bank OR DELETE ON firms
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- Two uploads racing for one loan cannot both store overlapping periods: the database refuses
-- the second ([from, to) ranges, as the day count reads them).
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE interest_records ADD CONSTRAINT interest_records_no_overlap
    EXCLUDE USING gist (loan_id WITH =, daterange(period_from, period_to) WITH &&) WHERE (status = 'accepted');

-- The batch lifecycle as data (the same table as BatchLifecycle in Swift; a test compares them):
-- the database refuses any other change of a batch's state, whoever makes it.
CREATE TABLE batch_transitions (
    action          text NOT NULL,
    from_state      text NOT NULL,
    to_state        text NOT NULL,
    PRIMARY KEY (action, from_state)
);
INSERT INTO batch_transitions (action, from_state, to_state) VALUES
    ('compute', 'draft', 'computed'), ('compute', 'computed', 'computed'), ('compute', 'publicity', 'computed'),
    ('exclude', 'computed', 'computed'), ('exclude', 'publicity', 'publicity'),
    ('submit', 'computed', 'publicity'),
    ('approve', 'publicity', 'approved'),
    ('export', 'approved', 'exported'), ('export', 'exported', 'exported'),
    ('settle', 'exported', 'paid'),
    ('reopen', 'paid', 'exported'),
    ('close', 'paid', 'closed'),
    ('cancel', 'draft', 'cancelled'), ('cancel', 'computed', 'cancelled'), ('cancel', 'publicity', 'cancelled');

CREATE FUNCTION batch_state_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state
       AND NOT EXISTS (SELECT 1 FROM batch_transitions WHERE from_state = OLD.state AND to_state = NEW.state) THEN
        RAISE EXCEPTION 'batch %: % → % is not a transition of the batch lifecycle', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.state IN ('approved', 'exported', 'paid', 'closed')
       AND (NEW.program, NEW.year, NEW.district, NEW.total_fen, NEW.approved_by, NEW.computed_by)
           IS DISTINCT FROM (OLD.program, OLD.year, OLD.district, OLD.total_fen, OLD.approved_by, OLD.computed_by) THEN
        RAISE EXCEPTION 'batch % is %: its scope, total and signatures are fixed', OLD.id, OLD.state USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER batches_state_guard BEFORE UPDATE ON batches FOR EACH ROW EXECUTE FUNCTION batch_state_guard();

-- Lines of an approved batch keep their amounts, recipient and reference; only their payment
-- status and (through a four-eyes correction) their payee move. They are never deleted.
CREATE FUNCTION batch_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    batch_state text;
BEGIN
    SELECT state INTO batch_state FROM batches WHERE id = OLD.batch_id;
    IF batch_state IN ('approved', 'exported', 'paid', 'closed') THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'line % belongs to batch %, which is %: it cannot be deleted', OLD.id, OLD.batch_id, batch_state
                USING ERRCODE = 'check_violation';
        END IF;
        IF (NEW.batch_id, NEW.line_no, NEW.recipient_uscc, NEW.computed_fen, NEW.previously_fen, NEW.amount_fen, NEW.payment_ref)
           IS DISTINCT FROM (OLD.batch_id, OLD.line_no, OLD.recipient_uscc, OLD.computed_fen, OLD.previously_fen, OLD.amount_fen, OLD.payment_ref)
           OR (OLD.status = 'excluded') <> (NEW.status = 'excluded') THEN
            RAISE EXCEPTION 'line % of batch % (%) keeps its recipient, amounts and reference', OLD.id, OLD.batch_id, batch_state
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN coalesce(NEW, OLD);
END;
$$;
CREATE TRIGGER batch_lines_guard BEFORE UPDATE OR DELETE ON batch_lines FOR EACH ROW EXECUTE FUNCTION batch_line_guard();
