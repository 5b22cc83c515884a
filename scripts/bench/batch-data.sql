-- 10,000 firms, one 壮大贷 loan each, 24 semi-monthly interest records paid in 2025: 240,000 records.
-- Synthetic codes (the batch path does not re-check USCCs; the bank API does at upload).
INSERT INTO banks (code, name) VALUES ('BENCH', 'Benchmark bank') ON CONFLICT DO NOTHING;
INSERT INTO firms (uscc, name, district)
SELECT '9151BENCH' || lpad(i::text, 9, '0'), '基准测试企业' || i, CASE WHEN i % 2 = 0 THEN '高新区' ELSE '锦江区' END
FROM generate_series(1, 10000) i;
INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source)
SELECT '9151BENCH' || lpad(i::text, 9, '0'), 'specialized', '2024-01-01', '2026-12-31', 'bench' FROM generate_series(1, 10000) i;
INSERT INTO loans (bank_code, loan_no, firm_uscc, program, principal_fen, start_date, maturity_date)
SELECT 'BENCH', 'B' || i, '9151BENCH' || lpad(i::text, 9, '0'), 'zhuangda', (100 + i % 900) * 1000000, '2025-01-01', '2026-12-31'
FROM generate_series(1, 10000) i;
INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on)
SELECT l.id, p.f, p.t, l.principal_fen, l.principal_fen / 800, least(p.t, date '2025-12-31')
FROM loans l
CROSS JOIN LATERAL (
    SELECT (date '2025-01-01' + (k * interval '1 month') / 2)::date AS f,
           (date '2025-01-01' + ((k + 1) * interval '1 month') / 2)::date AS t
    FROM generate_series(0, 23) k
) p
WHERE l.bank_code = 'BENCH';
INSERT INTO budgets (program, year, amount_fen, source) VALUES ('zhuangda', 2025, 100000000000, 'bench')
ON CONFLICT (program, year) DO NOTHING;
