#!/usr/bin/python3
"""Checks freeze_sweep CSVs against the project's performance goals.

  /usr/bin/python3 results/compare_runs.py A.csv [B.csv]

For each CSV: per model/batch/threads, the largest |time cut - FLOP cut| of the backward
phase over the prefix:K specs (goal: <= 0.02 on the 8x1024 MLP at batch 256).
With two CSVs (two runs of the same sweep): per model/phase, the largest difference of
flop_cut and of time_cut between the runs over every configuration (goal: <= 0.03).
"""
import csv
import re
import sys
from collections import defaultdict


def load(path):
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r["bench"] == "freeze_sweep"]


def key(r):
    return (r["impl"], r["model"], r["batch"], r["threads"], r["freeze_spec"], r["phase"])


def prefix_gaps(rows):
    worst = defaultdict(lambda: (0.0, ""))
    for r in rows:
        if r["phase"] == "backward" and re.fullmatch(r"prefix:\d+", r["freeze_spec"]):
            gap = abs(float(r["time_cut"]) - float(r["flop_cut"]))
            k = (r["impl"], r["model"], r["batch"], r["threads"])
            if gap >= worst[k][0]:
                worst[k] = (gap, r["freeze_spec"])
    return worst


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    runs = [load(p) for p in sys.argv[1:]]
    for path, rows in zip(sys.argv[1:], runs):
        print(f"{path}: backward |time cut - FLOP cut|, worst prefix spec")
        for (impl, model, batch, threads), (gap, spec) in sorted(prefix_gaps(rows).items()):
            print(f"  {impl:12} {model:10} batch {batch:>4} threads {threads:>3}: "
                  f"{gap:.3f} ({spec})")
    if len(runs) == 2:
        a = {key(r): r for r in runs[0]}
        b = {key(r): r for r in runs[1]}
        common = sorted(set(a) & set(b))
        print(f"run to run: {len(common)} rows in both, {len(set(a) ^ set(b))} in one only")
        worst = defaultdict(lambda: [0.0, 0.0, ""])
        for k in common:
            w = worst[(k[0], k[1], k[2], k[5])]
            w[0] = max(w[0], abs(float(a[k]["flop_cut"]) - float(b[k]["flop_cut"])))
            d = abs(float(a[k]["time_cut"]) - float(b[k]["time_cut"]))
            if d >= w[1]:
                w[1], w[2] = d, f"{k[4]}, {k[3]} threads"
        for (impl, model, batch, phase), (df, dt, where) in sorted(worst.items()):
            print(f"  {impl:12} {model:10} batch {batch:>4} {phase:10}: |d flop_cut| {df:.3f}, "
                  f"|d time_cut| {dt:.3f} ({where})")


if __name__ == "__main__":
    main()
