#!/usr/bin/env python3
"""measure.py LABEL CMD [ARGS...]: runs CMD, then appends "LABEL wall_ms peak_rss_kb" to $BENCH_LOG
(the child's own peak resident set, from wait4). Standard input and output pass through."""
import os, subprocess, sys, time

label, cmd = sys.argv[1], sys.argv[2:]
start = time.monotonic()
proc = subprocess.Popen(cmd)
_, status, usage = os.wait4(proc.pid, 0)
ms = (time.monotonic() - start) * 1000
with open(os.environ["BENCH_LOG"], "a") as log:
    log.write(f"{label} {ms:.0f} {usage.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status))
