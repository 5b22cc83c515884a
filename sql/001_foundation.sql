-- Foundation: reference data every program reads. Amounts are whole 分 (bigint), rates are
-- exact numerics in percent, dates are dates. Later migrations add the ledger and batches.

CREATE TABLE firms (
    uscc            char(18) PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) > 0),
    district        text,
    -- A legacy code that fails the GB 32100-2015 check, accepted explicitly by an administrator.
    uscc_allow_listed boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE qualifications (
    id              bigserial PRIMARY KEY,
    firm_uscc       char(18) NOT NULL REFERENCES firms (uscc),
    level           text NOT NULL CHECK (level IN ('innovative', 'specialized', 'little_giant')),
    valid_from      date NOT NULL,
    valid_to        date NOT NULL,
    -- 认定批次/公告: the announcement that recognised the firm.
    source          text NOT NULL,
    CHECK (valid_from <= valid_to)
);
CREATE INDEX qualifications_firm ON qualifications (firm_uscc, valid_from);

-- LPR fixings (RULES.md §2): in force from `published` until the next fixing.
CREATE TABLE lpr_fixings (
    published       date PRIMARY KEY,
    one_year_pct    numeric(8, 4) NOT NULL CHECK (one_year_pct > 0 AND one_year_pct < 100),
    five_year_pct   numeric(8, 4) NOT NULL CHECK (five_year_pct > 0 AND five_year_pct < 100),
    -- C confirmed by a dated report, D from a public data set, I inferred date, B entered by the bureau.
    source          text NOT NULL CHECK (source IN ('C', 'D', 'I', 'B')),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Policy parameters as dated data, each with the clause it comes from.
CREATE TABLE policy_versions (
    id              text PRIMARY KEY,
    title           text NOT NULL,
    valid_from      date NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE policy_parameters (
    version_id      text NOT NULL REFERENCES policy_versions (id),
    key             text NOT NULL,
    value           text NOT NULL,
    clause          text NOT NULL,
    assumption      boolean NOT NULL,
    PRIMARY KEY (version_id, key)
);
