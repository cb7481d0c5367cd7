#!/usr/bin/python3
"""How often results/compare_runs.py cries wolf, and whether it catches a real change.

usage: /usr/bin/python3 bench/compare_calibration.py [--pairs K] [--changes C]
           [--change-env VAR=VALUE] [--freeze-sweep PATH] [--keep DIR] [-- SWEEP ARGS...]

Runs the freeze sweep (its defaults, or SWEEP ARGS) over and over on this machine, in the
order  A A B  A A B ...  (A: the build as it is; B: the same build with VAR=VALUE in its
environment, by default FREEZEBENCH_ISA=avx2, a real change of kernels on an AVX-512
CPU), and compares with compare_runs.py:
  - each A/A pair (two consecutive plain runs of one build): any CHANGED row is a false
    alarm.  Reported: the pairs that failed (exit 1) and the rows called CHANGED, of all.
  - each B against the A run just before it: the rows called CHANGED are the change it
    saw (a change the kernels make must show where they run: the 1024-wide model).
It is a benchmark, not a test: its figures depend on the machine and belong in notes
and results/README.md.  Every CSV is written to a temporary folder (--keep DIR keeps
them) with --allow-dirty, since a calibration publishes nothing.  Exit 0, or 2 on a
usage error or a sweep that failed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="compare_calibration.py",
                                 description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--pairs", type=int, default=3, help="A/A pairs (default 3)")
    ap.add_argument("--changes", type=int, default=1,
                    help="B runs, each after a pair (default 1; at most --pairs)")
    ap.add_argument("--change-env", default="FREEZEBENCH_ISA=avx2", metavar="VAR=VALUE")
    ap.add_argument("--freeze-sweep", default=os.path.join(ROOT, "build/bench/freeze_sweep"))
    ap.add_argument("--keep", metavar="DIR", help="write the CSVs here and keep them")
    ap.add_argument("sweep_args", nargs="*", help="freeze_sweep's arguments (after --)")
    a = ap.parse_args(argv)
    if a.pairs < 1 or not 0 <= a.changes <= a.pairs or "=" not in a.change_env:
        ap.error("--pairs >= 1, 0 <= --changes <= --pairs, --change-env VAR=VALUE")
    return a


def sweep(a, out, env_change):
    env = dict(os.environ)
    if env_change:
        var, value = env_change.split("=", 1)
        env[var] = value
    cmd = [a.freeze_sweep, *a.sweep_args, "--allow-dirty", "--overwrite", "--output", out]
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        sys.exit(f"compare_calibration: {' '.join(cmd)} failed ({p.returncode}):\n"
                 f"{p.stderr[-2000:]}")
    print(f"  {os.path.basename(out)}: {time.monotonic() - t0:.0f} s"
          + (f" ({env_change})" if env_change else ""), flush=True)


def compare(a_csv, b_csv):
    """(exit status, rows compared, rows CHANGED, the CHANGED and UNSURE lines)."""
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "results/compare_runs.py"),
                        a_csv, b_csv], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"compare_calibration: compare_runs.py failed ({p.returncode}):\n"
                 f"{p.stdout[-1000:]}{p.stderr[-1000:]}")
    matched = re.search(r"(\d+) configurations in both runs", p.stdout)
    rows = [ln for ln in p.stdout.splitlines()
            if ln.startswith(("freeze_sweep/", "kernel_bench/"))]
    changed = sum("CHANGED" in ln for ln in rows)
    return (p.returncode, int(matched.group(1)) if matched else 0, changed,
            [ln for ln in rows if "CHANGED" in ln or "UNSURE" in ln])


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    folder = a.keep or tempfile.mkdtemp(prefix="fzb-calibration-")
    os.makedirs(folder, exist_ok=True)
    print(f"compare_calibration: {a.pairs} A/A pairs, {a.changes} known change(s) "
          f"({a.change_env}), CSVs in {folder}", flush=True)
    alarms, alarm_rows, rows, seen = 0, 0, 0, []
    for i in range(a.pairs):
        first, second = (os.path.join(folder, f"a{i}-{j}.csv") for j in (1, 2))
        sweep(a, first, None)
        sweep(a, second, None)
        status, n, changed, lines = compare(first, second)
        alarms += status == 1
        alarm_rows += changed
        rows += n
        print(f"A/A pair {i + 1}: exit {status}, {changed} of {n} rows CHANGED", flush=True)
        for ln in lines:
            print("    " + ln)
        if i < a.changes:
            changed_csv = os.path.join(folder, f"b{i}.csv")
            sweep(a, changed_csv, a.change_env)
            status, n, changed, lines = compare(second, changed_csv)
            seen.append((status, n, changed))
            print(f"known change {i + 1} ({a.change_env}): exit {status}, {changed} of {n} "
                  "rows CHANGED", flush=True)
            for ln in lines:
                print("    " + ln)
    print(f"\nfalse alarms: {alarms} of {a.pairs} A/A pairs exited 1; "
          f"{alarm_rows} of {rows} rows called CHANGED ({100 * alarm_rows / max(rows, 1):.1f}%)")
    for i, (status, n, changed) in enumerate(seen):
        print(f"known change {i + 1}: {'caught' if status == 1 else 'MISSED'} "
              f"({changed} of {n} rows CHANGED)")
    if not a.keep:
        print(f"(CSVs left in {folder})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
