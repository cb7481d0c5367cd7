#!/usr/bin/python3
"""results/make_report.py on fresh CSVs: the bench programs write a tiny sweep and a quick
kernel run into a scratch directory, and, where torch is installed, the PyTorch script the
same tiny sweep; the report must list them in one system's section (schema 4: the sweep's
times with their 95 % intervals, from 6 repetitions), open with its table of contents,
draw both plots and, with the PyTorch CSV, put both implementations' times side by side.

The programs run with --allow-dirty: a test build is often of a tree with uncommitted
changes, and the writers refuse to publish from one without it."""
import importlib.util
import math
import os
import re
import subprocess
import sys
import tempfile

freeze_sweep, kernel_bench, make_report, pytorch_sweep = sys.argv[1:5]
SWEEP = ["--model", "32x4@8", "--threads", "1", "--spec", "prefix:1", "--spec", "prefix:2",
         "--repetitions", "6", "--min-time", "0.001", "--allow-dirty"]
have_torch = importlib.util.find_spec("torch") is not None

spec = importlib.util.spec_from_file_location("make_report", make_report)
report_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report_module)
problems = [f"num({t!r}) is not NaN" for t in ("", "NA") if not math.isnan(report_module.num(t))]
with tempfile.TemporaryDirectory() as d:
    subprocess.run([freeze_sweep, *SWEEP, "--output", os.path.join(d, "sweep.csv")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([kernel_bench, "--quick", "--benchmark_min_time=0.01",
                    "--benchmark_repetitions=1", "--allow-dirty", "--output", os.path.join(d, "kernels.csv")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if have_torch:
        # This build's freeze_sweep describes the machine and the columns, not the
        # default one beside the script, which may be another build's.
        subprocess.run([sys.executable, pytorch_sweep, *SWEEP, "--freeze-sweep",
                        freeze_sweep, "--output", os.path.join(d, "pytorch.csv")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, make_report, d], check=True, stdout=subprocess.DEVNULL)
    report = open(os.path.join(d, "REPORT.md")).read()
    pngs = [f for f in os.listdir(d) if f.endswith(".png")]
    if "### Freeze sweep" not in report or "`prefix:2`" not in report:
        problems.append("no sweep table with the prefix:2 row")
    if not report.startswith("# freezebench results") or "## Contents" not in report:
        problems.append("no table of contents")
    sweep = report.partition("### Freeze sweep")[2].partition("\n### ")[0]
    if not re.search(r"\| `prefix:2` \|.*\d (ns|µs|ms) \[[\d.]+–[\d.]+\]", sweep):
        problems.append("the prefix:2 row's times have no intervals")
    if "### Kernels" not in report or "sgemm_fwd_nt" not in report:
        problems.append("no kernel table")
    if not any(p.startswith("gemm-") for p in pngs) or not any(p.startswith("sweep-") for p in pngs):
        problems.append(f"plots missing: {pngs}")
    if report.count("## System `") != 1:
        problems.append("the CSVs of one machine are not one system section")
    if "Skipped" in report:
        problems.append("a CSV was skipped")
    if have_torch:
        versus = report.partition("### freezebench vs PyTorch")[2]
        if not versus or "| 32x4 | 8 | 1 | `prefix:2` |" not in versus:
            problems.append("no freezebench vs PyTorch table with the prefix:2 row")
    if problems:
        sys.exit("make_report: " + "; ".join(problems))
print("make_report: report and plots made" + ("" if have_torch else
                                               " (no torch: without the PyTorch CSV)"))
