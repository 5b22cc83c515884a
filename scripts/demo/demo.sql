-- A small demo data set: three firms and their qualifications. Idempotent.
INSERT INTO firms (uscc, name, district) VALUES
    ('91350200776049653A', '成都示例精密制造有限公司', '高新区'),
    ('913502000728319549', '成都示例融资担保有限公司', '锦江区'),
    ('91440101MA5CJQ4N59', '成都示例创业投资有限公司', '武侯区')
ON CONFLICT (uscc) DO NOTHING;

INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source)
SELECT '91350200776049653A', 'specialized', DATE '2024-03-01', DATE '2027-02-28', '川经信企业〔2024〕示例号'
WHERE NOT EXISTS (SELECT 1 FROM qualifications WHERE firm_uscc = '91350200776049653A');
