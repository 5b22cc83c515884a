-- The policy's stated maxima as data beside the parameters (RULES.md §10): an override may
-- lower a cap, a rate or a window, never raise it past these. Same rows as the built-in
-- document (Sources/SubsidyRules/Policy/PolicyData.swift); a test compares them.
INSERT INTO policy_parameters (version_id, key, value, clause, assumption) VALUES
    ('chengdu-zjtx-2024', 'zhuangda.firmCapMax', '800000.00', '成都专精特新政策 第6条（最高80万元贴息补助）', false),
    ('chengdu-zjtx-2024', 'xinyidai.creditLineMax', '50000000.00', '成都专精特新政策 第6条（最高5000万元授信额度）', false),
    ('chengdu-zjtx-2024', 'xinyidai.firmCapMax', '600000.00', '成都专精特新政策 第6条（单户企业最高补贴60万元）', false),
    ('chengdu-zjtx-2024', 'equity.pairCapMax', '300000.00', '成都专精特新政策 第8条（每投资1家企业最高奖励30万元）', false),
    ('chengdu-zjtx-2024', 'equity.investorCapMax', '800000.00', '成都专精特新政策 第8条（每家股权投资企业年度累计奖励金额最高80万元）', false),
    ('chengdu-zjtx-2024', 'fund.pairCapMax', '500000.00', '成都专精特新政策 第9条（最高50万元的一次性奖励）', false),
    ('chengdu-zjtx-2024', 'fund.recognitionYearsMax', '2', '成都专精特新政策 第9条（2年内被认定）', false);
