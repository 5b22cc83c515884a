#!/usr/bin/env python3
"""Writes an MT940 statement with N debits (default 100,000), each paying one exported batch line
(reference SLZ25 + the line as 10 digits + 0), and the same entries as TSV for the
plain-PostgreSQL baseline. Amounts are integers of fen."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
out_sta = sys.argv[2] if len(sys.argv) > 2 else "/tmp/bench-statement.sta"
out_tsv = sys.argv[3] if len(sys.argv) > 3 else "/tmp/bench-entries.tsv"
opening = 100_000_000_000
total = 0
lines = [":20:BENCH", ":25:6222020000009999", ":28C:1/1", f":60F:C251010CNY{opening // 100},{opening % 100:02d}"]
rows = []
for i in range(1, n + 1):
    fen = 10_000 + i
    total += fen
    ref = f"SLZ25{i:010d}0"
    lines.append(f":61:2510131013D{fen // 100},{fen % 100:02d}NTRFNONREF")
    lines.append(f":86:/REMI/{ref}")
    rows.append(f"{i}\t{-fen}\t{ref}")
closing = opening - total
lines.append(f":62F:C251013CNY{closing // 100},{closing % 100:02d}")
lines.append("-")
with open(out_sta, "w") as handle:
    handle.write("\r\n".join(lines) + "\r\n")
with open(out_tsv, "w") as handle:
    handle.write("\n".join(rows) + "\n")
print(f"{n} entries → {out_sta}", file=sys.stderr)
