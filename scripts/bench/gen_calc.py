#!/usr/bin/env python3
"""Writes a 壮大贷 calculator request with N interest records (default 100,000): LOANS loans of
RECORDS records each over 2025, for 1,000 firms, and the same records as tab-separated rows for
the plain-PostgreSQL baseline. Amounts are integers of fen throughout (no floating point)."""
import json, random, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
out_json = sys.argv[2] if len(sys.argv) > 2 else "/tmp/bench-calc.json"
out_tsv = sys.argv[3] if len(sys.argv) > 3 else "/tmp/bench-records.tsv"
random.seed(20251121)
alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

def uscc(body):
    total = sum(alphabet.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return body + alphabet[(31 - total % 31) % 31]

def fen(value):
    return f"{value // 100}.{value % 100:02d}"

firms = [uscc("9151" + "".join(random.choice(alphabet) for _ in range(13))) for _ in range(1000)]
records_per_loan = 10
loans = []
rows = []
for index in range(n // records_per_loan):
    firm = firms[index % len(firms)]
    principal = random.randint(1_000_000_00, 20_000_000_00)
    start_day = random.randint(1, 28)
    records = []
    for month in range(1, records_per_loan + 1):
        frm, to = f"2025-{month:02d}-{start_day:02d}", f"2025-{month + 1:02d}-{start_day:02d}"
        paid = random.randint(principal // 400, principal // 250)
        rid = f"R{index}-{month}"
        records.append({"id": rid, "from": frm, "to": to, "balance": fen(principal), "paid": fen(paid), "paidOn": to})
        rows.append(f"L{index}\t{rid}\t{frm}\t{to}\t{principal}\t{paid}")
    loans.append({"id": f"L{index}", "firm": firm, "product": "zhuangda", "principal": fen(principal),
                  "start": f"2025-01-{start_day:02d}", "maturity": "2026-12-31", "interest": records})

request = {"program": "zhuangda", "year": 2025,
           "firms": [{"uscc": f, "qualifications": [{"level": "specialized", "from": "2024-01-01", "to": "2026-12-31"}]} for f in firms],
           "loans": loans}
with open(out_json, "w") as handle:
    json.dump(request, handle, ensure_ascii=False)
with open(out_tsv, "w") as handle:
    handle.write("\n".join(rows) + "\n")
print(f"{len(rows)} records in {len(loans)} loans → {out_json}, {out_tsv}", file=sys.stderr)
