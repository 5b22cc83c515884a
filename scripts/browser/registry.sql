-- The browser suite's starting point: registered firms (with their payee accounts; one a
-- 19-digit account number, which must survive the .xlsx export as text) and the partner bank.
-- No qualification, loan, user, token, budget or disbursement account: the journey adds them
-- through the web application and the bank API.
INSERT INTO firms (uscc, name, district, account_name, account_no, account_bank) VALUES
    ('91350200776049653A', '成都甲精密制造有限公司', '高新区', '成都甲精密制造有限公司', '6222020000000000019', '工商银行成都高新支行'),
    ('913502000728319549', '成都乙智能科技有限公司', '锦江区', '成都乙智能科技有限公司', '6226090000000002', '民生银行成都分行'),
    ('91440101MA5CJQ4N59', '成都丙创业投资有限公司', '武侯区', '成都丙创业投资有限公司', '6214830000000003', '成都银行武侯支行');
INSERT INTO banks (code, name) VALUES ('ICBC', '中国工商银行');
