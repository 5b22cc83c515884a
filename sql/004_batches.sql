-- The data the programs read, the budgets, the working-day calendar, and subsidy batches.

ALTER TABLE firms
    ADD COLUMN account_name text,
    ADD COLUMN account_no   text CHECK (account_no ~ '^[0-9]{6,32}$'),
    ADD COLUMN account_bank text;

CREATE TABLE banks (
    code            text PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{2,16}$'),
    name            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE loans (
    id              bigserial PRIMARY KEY,
    bank_code       text NOT NULL REFERENCES banks (code),
    loan_no         text NOT NULL CHECK (length(loan_no) BETWEEN 1 AND 64),
    firm_uscc       char(18) NOT NULL REFERENCES firms (uscc),
    program         text NOT NULL CHECK (program IN ('zhuangda', 'xinyidai')),
    tier            text CHECK (tier IN ('xinedai', 'huiye', 'peiyou', 'touliandai')),
    principal_fen   bigint NOT NULL CHECK (principal_fen > 0),
    start_date      date NOT NULL,
    maturity_date   date NOT NULL,
    contract_rate_pct numeric(9, 6) CHECK (contract_rate_pct >= 0 AND contract_rate_pct <= 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bank_code, loan_no),
    CHECK (start_date < maturity_date),
    CHECK ((program = 'xinyidai') = (tier IS NOT NULL))
);
CREATE INDEX loans_firm ON loans (firm_uscc);

-- Interest records are versioned: a re-sent record supersedes the earlier version, which stays.
CREATE TABLE interest_records (
    id              bigserial PRIMARY KEY,
    loan_id         bigint NOT NULL REFERENCES loans (id),
    period_from     date NOT NULL,
    period_to       date NOT NULL,
    balance_fen     bigint NOT NULL CHECK (balance_fen >= 0),
    paid_fen        bigint NOT NULL CHECK (paid_fen >= 0),
    paid_on         date NOT NULL,
    bank_reference  text,
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    status          text NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'superseded')),
    supersedes      bigint REFERENCES interest_records (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (period_from < period_to)
);
CREATE UNIQUE INDEX interest_records_current ON interest_records (loan_id, period_from, period_to) WHERE status = 'accepted';
CREATE INDEX interest_records_paid_on ON interest_records (paid_on) WHERE status = 'accepted';

CREATE TABLE investments (
    id              bigserial PRIMARY KEY,
    ref             text NOT NULL UNIQUE,
    investor_uscc   char(18) NOT NULL REFERENCES firms (uscc),
    investee_uscc   char(18) NOT NULL REFERENCES firms (uscc),
    kind            text NOT NULL CHECK (kind IN ('equity', 'fund')),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    invest_date     date NOT NULL,
    stage           text CHECK (stage IN ('seed', 'early', 'growth', 'late')),
    registered_in_city boolean NOT NULL DEFAULT false,
    recognition_level text CHECK (recognition_level IN ('innovative', 'specialized', 'little_giant')),
    recognition_date date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((recognition_level IS NULL) = (recognition_date IS NULL))
);

CREATE TABLE guarantees (
    id              bigserial PRIMARY KEY,
    ref             text NOT NULL UNIQUE,
    firm_uscc       char(18) NOT NULL REFERENCES firms (uscc),
    loan_id         bigint REFERENCES loans (id),
    guarantor_uscc  char(18) NOT NULL REFERENCES firms (uscc),
    principal_fen   bigint NOT NULL CHECK (principal_fen > 0),
    period_from     date NOT NULL,
    period_to       date NOT NULL,
    fee_fen         bigint NOT NULL CHECK (fee_fen >= 0),
    paid_on         date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (period_from < period_to)
);

-- Awards at other levels recorded on a loan or an investment (RULES.md §8).
CREATE TABLE other_subsidies (
    id              bigserial PRIMARY KEY,
    loan_id         bigint REFERENCES loans (id),
    investment_id   bigint REFERENCES investments (id),
    year            integer NOT NULL CHECK (year BETWEEN 2000 AND 2199),
    level           text NOT NULL CHECK (level IN ('city', 'provincial', 'national')),
    amount_fen      bigint NOT NULL CHECK (amount_fen >= 0),
    source          text NOT NULL,
    CHECK ((loan_id IS NULL) <> (investment_id IS NULL))
);
CREATE INDEX other_subsidies_loan ON other_subsidies (loan_id, year);

-- 专项资金: the budget of a program for a year.
CREATE TABLE budgets (
    program         text NOT NULL CHECK (program IN ('zhuangda', 'xinyidai', 'equity', 'fund', 'guarantee')),
    year            integer NOT NULL CHECK (year BETWEEN 2000 AND 2199),
    amount_fen      bigint NOT NULL CHECK (amount_fen >= 0),
    source          text NOT NULL,
    PRIMARY KEY (program, year)
);

-- Days that differ from the Monday–Friday rule: public holidays and 调休 working weekends.
CREATE TABLE calendar_days (
    day             date PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name            text NOT NULL
);

CREATE TABLE batches (
    id              bigserial PRIMARY KEY,
    program         text NOT NULL CHECK (program IN ('zhuangda', 'xinyidai', 'equity', 'fund', 'guarantee')),
    year            integer NOT NULL CHECK (year BETWEEN 2000 AND 2199),
    district        text,
    state           text NOT NULL DEFAULT 'draft'
                    CHECK (state IN ('draft', 'computed', 'publicity', 'approved', 'exported', 'paid', 'closed', 'cancelled')),
    policy_version  text,
    total_fen       bigint NOT NULL DEFAULT 0,
    created_by      bigint NOT NULL REFERENCES users (id),
    computed_by     bigint REFERENCES users (id),
    computed_at     timestamptz,
    publicity_from  date,
    publicity_until date,
    approved_by     bigint REFERENCES users (id),
    approved_at     timestamptz,
    exported_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (approved_by IS NULL OR approved_by <> computed_by)
);
CREATE INDEX batches_program_year ON batches (program, year, state);

-- One line per recipient: what the engine computed for the year, what earlier approved batches
-- already granted, and the difference this batch pays (negative: a recovery, 应收).
CREATE TABLE batch_lines (
    id              bigserial PRIMARY KEY,
    batch_id        bigint NOT NULL REFERENCES batches (id),
    line_no         integer NOT NULL,
    recipient_uscc  char(18) NOT NULL,
    recipient_name  text NOT NULL,
    computed_fen    bigint NOT NULL CHECK (computed_fen >= 0),
    previously_fen  bigint NOT NULL CHECK (previously_fen >= 0),
    amount_fen      bigint NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'excluded', 'paid')),
    excluded_reason text,
    payment_ref     text NOT NULL UNIQUE CHECK (length(payment_ref) <= 20),
    items           jsonb NOT NULL,
    explanation     jsonb NOT NULL,
    UNIQUE (batch_id, recipient_uscc),
    UNIQUE (batch_id, line_no),
    CHECK (amount_fen = computed_fen - previously_fen),
    CHECK ((status = 'excluded') = (excluded_reason IS NOT NULL))
);

-- The items of each line, for earlier-year lookups (a loan's 新易贷 lifetime cap, a pair's cap).
CREATE TABLE batch_line_items (
    batch_line_id   bigint NOT NULL REFERENCES batch_lines (id),
    item_id         text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('loan', 'investment', 'guarantee')),
    amount_fen      bigint NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (batch_line_id, item_id)
);
CREATE INDEX batch_line_items_item ON batch_line_items (item_id);

CREATE TABLE batch_exclusions (
    batch_id        bigint NOT NULL REFERENCES batches (id),
    item_id         text NOT NULL,
    kind            text NOT NULL,
    code            text NOT NULL,
    reason          text NOT NULL,
    reason_zh       text NOT NULL,
    recipient_uscc  text NOT NULL,
    PRIMARY KEY (batch_id, kind, item_id)
);
