#!/usr/bin/python3
"""results/make_report.py on fresh CSVs: the bench programs write a tiny sweep and a quick
kernel run into a scratch directory; the report must list both and draw both plots."""
import os
import subprocess
import sys
import tempfile

freeze_sweep, kernel_bench, make_report = sys.argv[1:4]
with tempfile.TemporaryDirectory() as d:
    subprocess.run([freeze_sweep, "--model", "32x4@8", "--threads", "1", "--spec", "prefix:1",
                    "--spec", "prefix:2", "--repetitions", "2", "--min-time", "0.001",
                    "--output", os.path.join(d, "sweep.csv")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([kernel_bench, "--quick", "--benchmark_min_time=0.01",
                    "--benchmark_repetitions=1", "--output", os.path.join(d, "kernels.csv")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, make_report, d], check=True, stdout=subprocess.DEVNULL)
    report = open(os.path.join(d, "REPORT.md")).read()
    pngs = [f for f in os.listdir(d) if f.endswith(".png")]
    problems = []
    if "### Freeze sweep" not in report or "`prefix:2`" not in report:
        problems.append("no sweep table with the prefix:2 row")
    if "### Kernels" not in report or "sgemm_fwd_nt" not in report:
        problems.append("no kernel table")
    if "gemm-peak.png" not in pngs or not any(p.startswith("backward-") for p in pngs):
        problems.append(f"plots missing: {pngs}")
    if problems:
        sys.exit("make_report: " + "; ".join(problems))
print("make_report: report and plots made")
