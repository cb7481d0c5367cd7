#!/usr/bin/python3
"""results/compare_runs.py on synthetic runs (tests/synthetic_results.py): a time cut 0.19
off must fail (exit 1) at --tolerance 0.05 and pass (0) at a tolerance above it; a run
against itself with its rows in another order passes; --help exits 0; usage errors
(missing file, bad option, a folder holding one configuration twice) exit 2.  `ranks` is
part of the key: a schema-3 file holding a 1-rank and a 2-rank run of the same sweep is
no duplicate, its 2-rank rows (3× slower here) are never matched with a schema-2 file's
rows (which read as 1 rank), and a 2-rank run alone shares no configuration with them.

usage: test_compare_runs.py results/compare_runs.py
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_results as syn  # noqa: E402

compare = os.path.abspath(sys.argv[1])
problems = []


def run(*args):
    return subprocess.run([sys.executable, compare, *args], capture_output=True, text=True)


def expect(status, what, *args):
    p = run(*args)
    if p.returncode != status:
        problems.append(f"{what}: exit {p.returncode}, want {status}\n{p.stdout[-1500:]}{p.stderr[-800:]}")
    return p


expect(0, "--help", "--help")
with tempfile.TemporaryDirectory() as d:
    m = syn.machine(2, system_id="sys-a", peak_isa="avx512")
    base = os.path.join(d, "base.csv")
    syn.write(base, syn.sweep(m), 2)
    # prefix:2's 1-thread backward: base time 2.40 µs of none's 3.20 µs (time cut 0.25);
    # 3.008 µs gives 0.06, a miss of 0.19 (and a time ratio of 1.25).
    miss = os.path.join(d, "miss.csv")
    syn.write(miss, syn.sweep(m, time_of=lambda s, t, p: 3.008e-6
                              if (s, t, p) == ("prefix:2", 1, "backward") else None), 2)
    # The same point 0.01 off, and the rows reversed: matching goes by key, not position.
    near = os.path.join(d, "near.csv")
    syn.write(near, list(reversed(syn.sweep(m, time_of=lambda s, t, p: 2.432e-6
                                            if (s, t, p) == ("prefix:2", 1, "backward") else None))), 2)

    p = expect(1, "a 0.19 time-cut miss at tolerance 0.05", base, miss, "--tolerance", "0.05")
    if "FAIL" not in p.stdout or "time_cut" not in p.stdout:
        problems.append("the 0.19 miss is not marked FAIL time_cut")
    expect(0, "a 0.19 miss at tolerance 0.2 (time tolerance 0.3)", base, miss,
           "--tolerance", "0.2", "--time-tolerance", "0.3")
    expect(1, "the time ratio alone (1.25) beyond --time-tolerance 0.1", base, miss,
           "--tolerance", "0.2", "--time-tolerance", "0.1")
    expect(0, "a 0.01 miss, rows reordered, at tolerance 0.05", base, near, "--tolerance", "0.05")
    expect(0, "a run against itself", base, base)
    # One run: backward time cut - FLOP cut of the prefix:K rows (these are 0.21 and
    # 0.42 apart in the synthetic model).
    expect(1, "one run's prefix gaps at tolerance 0.05", base, "--tolerance", "0.05")
    expect(0, "one run's prefix gaps at tolerance 0.5", base, "--tolerance", "0.5")

    expect(2, "a missing file", base, os.path.join(d, "missing.csv"))
    expect(2, "an unknown option", base, base, "--frobnicate")
    expect(2, "a negative tolerance", base, base, "--tolerance", "-1")
    two = os.path.join(d, "two-systems")
    os.mkdir(two)
    syn.write(os.path.join(two, "a.csv"), syn.sweep(m), 2)
    syn.write(os.path.join(two, "b.csv"), syn.sweep(syn.machine(2, system_id="sys-b")), 2)
    p = expect(2, "a folder holding one configuration twice", two, base)
    if "--system" not in p.stderr:
        problems.append("the duplicate-configuration error does not suggest --system")
    expect(0, "the same folder with --system", two, base, "--system", "sys-a")

    # ranks in the key: one file with both runs, a schema-2 baseline without the column.
    m3 = dict(m, schema_version="3")
    two_ranks = syn.sweep(m3, ranks=2, scale=3.0)
    mixed = os.path.join(d, "mixed.csv")
    syn.write(mixed, syn.sweep(m3) + two_ranks, 3)
    only2 = os.path.join(d, "only2.csv")
    syn.write(only2, two_ranks, 3)
    expect(0, "a file with a 1-rank and a 2-rank run against itself", mixed, mixed)
    p = expect(0, "a schema-2 run against the mixed file: the 1-rank rows match", base, mixed,
               "--time-tolerance", "0.01")
    n_base = len(syn.sweep(m))
    if f"{n_base} configurations in both runs" not in p.stdout:
        problems.append(f"schema 2 vs mixed: want {n_base} matched configurations\n{p.stdout[-800:]}")
    if f"only in the candidate ({len(two_ranks)})" not in p.stdout or "2 ranks" not in p.stdout:
        problems.append("the 2-rank rows are not listed as only in the candidate")
    p = expect(2, "a 2-rank run against a 1-rank run: nothing in common", base, only2)
    if "no configuration is in both runs" not in p.stderr:
        problems.append(f"2 ranks vs 1: {p.stderr[-400:]}")

if problems:
    sys.exit("test_compare_runs: " + "\n".join(problems))
print("test_compare_runs: exit statuses as documented, ranks kept apart")
