-- Two roles (issue 9): migrations run as the schema's owner; `serve`, `daemon` and the commands
-- run as a login that is a member of `subsidy_service`, which is granted only what the service
-- does. It owns nothing, so it cannot ALTER, DROP or disable a trigger; it may never UPDATE,
-- DELETE or TRUNCATE the journal, the audit log or the installation row.
--
-- scripts/pg.sh creates `subsidy_service` and the logins. On another server a DBA runs, once:
--   CREATE ROLE subsidy_service NOLOGIN;  GRANT subsidy_service TO <the service's login>;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'subsidy_service') THEN
        BEGIN
            CREATE ROLE subsidy_service NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'role subsidy_service does not exist and % may not create it: run CREATE ROLE subsidy_service NOLOGIN; GRANT subsidy_service TO <service login>; as a superuser', current_user;
        END;
    END IF;
END;
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM subsidy_service;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO subsidy_service;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO subsidy_service;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO subsidy_service;

-- Appends: every table the service writes rows into.
GRANT INSERT ON
    accounts, audit_log, bank_tokens, banks, batch_exclusions, batch_line_items, batch_lines, batch_records, batches, budgets,
    daemon_status, disbursement_accounts, entry_lines, firms, guarantees, installation, interest_records, investments,
    journal_entries, journal_lines, loans, lpr_fixings, other_subsidies, payee_corrections, policy_parameters, policy_versions,
    qualifications, statement_entries, statement_uploads, statements, uploads, users
TO subsidy_service;

-- State that moves: batches and their lines through the lifecycle, superseded records, the
-- upload queue, reconciliation's links, the daemon's heartbeat, and audited reference data.
GRANT UPDATE ON
    bank_tokens, banks, batch_lines, batches, budgets, daemon_status, disbursement_accounts, entry_lines, firms, interest_records,
    loans, payee_corrections, qualifications, statement_entries, statement_uploads, uploads, users
TO subsidy_service;

-- Recomputing a batch before approval replaces its lines (guarded by the batch's state).
GRANT DELETE ON batch_exclusions, batch_line_items, batch_lines, batch_records TO subsidy_service;

-- Whatever a later migration creates is readable and appendable by the service; anything more
-- is granted there, by name.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO subsidy_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO subsidy_service;
