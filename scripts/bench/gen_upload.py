#!/usr/bin/env python3
"""Writes a 100,000-record interest CSV (100 loans × 1,000 daily records, 2022-06-01 on) for the
upload benchmark, and the loans JSON to register first. Amounts are integers of fen."""
import datetime, json, sys

out_csv = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-upload.csv"
out_loans = sys.argv[2] if len(sys.argv) > 2 else "/tmp/bench-loans.json"
loans = [{"loanNo": f"U{i}", "firm": "91350200776049653A", "program": "zhuangda", "principal": "5000000.00",
          "start": "2022-01-01", "maturity": "2028-12-31", "contractRate": "3.80"} for i in range(100)]
with open(out_loans, "w") as handle:
    json.dump({"loans": loans}, handle)
start = datetime.date(2022, 6, 1)
with open(out_csv, "w", encoding="utf-8", newline="") as handle:
    handle.write("loan_no,period_from,period_to,balance,paid,paid_on,firm_name,bank_reference\r\n")
    for loan in range(100):
        for day in range(1000):
            frm = start + datetime.timedelta(days=day)
            to = frm + datetime.timedelta(days=1)
            handle.write(f"U{loan},{frm},{to},5000000.00,527.77,{to},成都示例精密制造有限公司,REF{loan:03d}{day:04d}\r\n")
print(f"100000 records → {out_csv}", file=sys.stderr)
