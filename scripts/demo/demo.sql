-- A small demo data set, idempotent: three firms, two banks, two 壮大贷 loans with interest paid in
-- 2025, the 2025 budget and the bureau's disbursement account. Loaded by the schema's owner;
-- users are added by scripts/run.sh through `subsidy init` and `subsidy user add`.
INSERT INTO firms (uscc, name, district, account_name, account_no, account_bank) VALUES
    ('91350200776049653A', '成都示例精密制造有限公司', '高新区', '成都示例精密制造有限公司', '6222020000000001', '工商银行成都高新支行'),
    ('913502000728319549', '成都示例融资担保有限公司', '锦江区', '成都示例融资担保有限公司', '6226090000000002', '民生银行成都分行'),
    ('91440101MA5CJQ4N59', '成都示例创业投资有限公司', '武侯区', '成都示例创业投资有限公司', '6214830000000003', '成都银行武侯支行')
ON CONFLICT (uscc) DO UPDATE SET
    account_name = coalesce(firms.account_name, excluded.account_name),
    account_no = coalesce(firms.account_no, excluded.account_no),
    account_bank = coalesce(firms.account_bank, excluded.account_bank);

INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source)
SELECT v.uscc, v.level, v.f::date, v.t::date, v.src
FROM (VALUES ('91350200776049653A', 'specialized', '2024-03-01', '2027-02-28', '川经信企业〔2024〕示例号'),
             ('913502000728319549', 'little_giant', '2023-07-01', '2026-06-30', '工信部企业〔2023〕示例批')) v(uscc, level, f, t, src)
WHERE NOT EXISTS (SELECT 1 FROM qualifications q WHERE q.firm_uscc = v.uscc);

INSERT INTO banks (code, name) VALUES ('ICBC', '中国工商银行'), ('CMBC', '中国民生银行'), ('BOCD', '成都银行')
ON CONFLICT (code) DO NOTHING;

-- The bureau's disbursement account (专户): statements are reconciled only for it.
INSERT INTO disbursement_accounts (account_no, bank_code, name) VALUES ('6222020000009999', 'ICBC', '成都市财政局专精特新资金专户')
ON CONFLICT (account_no) DO NOTHING;

INSERT INTO loans (bank_code, loan_no, firm_uscc, program, principal_fen, start_date, maturity_date, contract_rate_pct) VALUES
    ('ICBC', 'ZD-2025-0001', '91350200776049653A', 'zhuangda', 500000000, '2025-01-10', '2026-01-09', 3.80),
    ('CMBC', 'ZD-2025-0002', '913502000728319549', 'zhuangda', 200000000, '2025-02-01', '2026-01-31', 3.60)
ON CONFLICT (bank_code, loan_no) DO NOTHING;

INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on)
SELECT l.id, v.f::date, v.t::date, v.balance, v.paid, v.t::date
FROM (VALUES ('ZD-2025-0001', '2025-01-10', '2025-03-21', 500000000, 3694444),
             ('ZD-2025-0001', '2025-03-21', '2025-06-21', 500000000, 4000000),
             ('ZD-2025-0002', '2025-02-01', '2025-05-01', 200000000, 2000000)) v(loan, f, t, balance, paid)
JOIN loans l ON l.loan_no = v.loan
WHERE NOT EXISTS (SELECT 1 FROM interest_records r WHERE r.loan_id = l.id AND r.period_from = v.f::date);

INSERT INTO budgets (program, year, amount_fen, source) VALUES ('zhuangda', 2025, 5000000000, '成财企〔2025〕示例号')
ON CONFLICT (program, year) DO NOTHING;
