#!/usr/bin/env python3
"""report.py LOG SCALE OUT: medians of the figures in LOG ("label value [rss_kb]" lines) beside
their baselines, as Markdown written to OUT and printed."""
import os, platform, statistics, subprocess, sys
from collections import defaultdict

log, scale, out = sys.argv[1], sys.argv[2], sys.argv[3]
values, rss, notes = defaultdict(list), defaultdict(int), []
for line in open(log, encoding="utf-8"):
    parts = line.split()
    if not parts:
        continue
    if parts[0] == "note":
        notes.append(line[5:].rstrip())
        continue
    values[parts[0]].append(float(parts[1]))
    if len(parts) > 2:
        rss[parts[0]] = max(rss[parts[0]], int(parts[2]))

def med(key):
    return statistics.median(values[key]) if values.get(key) else None

def fmt(v, unit=""):
    if v is None:
        return "—"
    return f"{v:,.0f}{unit}" if abs(v) >= 100 else f"{v:,.2f}{unit}"

rows = []
def ratio_row(figure, ours, base, what, target, lower_is_better=True):
    a, b = med(ours), med(base)
    r = (a / b) if a and b else None
    verdict = "" if r is None or target is None else (" ✔" if (r <= target if lower_is_better else r >= target) else " ✘ missed")
    goal = "" if target is None else ("≤ " if lower_is_better else "≥ ") + f"{target}×" + verdict
    rows.append(f"| {figure} | {fmt(a)} | {fmt(b)} | {what} | {fmt(r)}× | {goal} | {len(values.get(ours, []))} |")

ratio_row("ingest: API CSV upload, all checks (records/s, per file)", "ingest_api_rps", "ingest_copy_rps", "psql \\copy of the same file into a bare table (records/s; median of 3, psql \\timing)", 0.5, lower_is_better=False)
for program in ("zhuangda", "xinyidai"):
    ratio_row(f"batch {program} 2025: compute + store with explanations (ms)", f"batch_{program}_ms", f"plain_{program}_ms", "plain SQL computing the same per-firm amounts into a table (ms)", 3)
    ratio_row(f"batch {program} 2025: the same, storing nothing (`compute --trial`, ms)", f"trial_{program}_ms", f"plain_{program}_ms", "plain SQL computing the same per-firm amounts into a table (ms)", None)
    ratio_row(f"approve {program}: checks, payees frozen, accruals posted (ms)", f"approve_{program}_ms", f"plain_approve_{program}_ms", "plain SQL inserting two journal rows per line (ms)", None)
    ratio_row(f"export {program}: payment file + 公示 list (ms)", f"export_{program}_ms", f"plain_export_{program}_ms", "psql \\copy of the lines to a CSV file (ms)", None)
ratio_row("reconcile: import a statement paying exported lines (ms per statement)", "reconcile_ms", "plain_reconcile_ms", "plain SQL: \\copy the same entries + join on reference (ms per statement)", 3)
ratio_row("HTTP POST /v1/calculate, 64 connections (requests/s)", "http_calculate_rps", "http_health_rps", "GET /health (requests/s)", None, lower_is_better=False)
ratio_row("HTTP GET /v1/interest-records with a token, 64 connections (requests/s)", "http_records_rps", "http_health_rps", "GET /health (requests/s)", None, lower_is_better=False)

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
lines = [f"## Scale `{scale}`", "", f"Machine: {os.cpu_count()} cores ({cpu}), {int(mem) // 1024 // 1024} GiB, {pg}, {platform.platform()}.", ""]
lines += [f"- {n}" for n in notes] + ([""] if notes else [])
lines += ["| figure | SubsidyLedger (median) | baseline (median) | baseline is | ratio | target | runs |", "|---|---:|---:|---|---:|---|---:|", *rows, ""]
lines += ["| HTTP, 64 connections (wrk, 10 s) | requests/s | p50 | p99 |", "|---|---:|---:|---:|"]
for name, label in (("calculate", "POST /v1/calculate (small request)"), ("records", "GET /v1/interest-records?limit=100 (bearer token)"), ("health", "GET /health")):
    lines.append(f"| {label} | {fmt(med(f'http_{name}_rps'))} | {fmt(med(f'http_{name}_p50'))} ms | {fmt(med(f'http_{name}_p99'))} ms |")
lines += ["", "| process | wall time (median) | peak RSS |", "|---|---:|---:|"]
for key in sorted(rss):
    wall = "—" if key == "server" else fmt(med(key) / 1000, " s")
    lines.append(f"| {key.removeprefix('cmd_')} | {wall} | {rss[key] / 1024:,.0f} MB |")
text = "\n".join(lines) + "\n"
open(out, "w", encoding="utf-8").write(text)
print(text)
