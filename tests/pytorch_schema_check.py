#!/usr/bin/python3
"""bench/pytorch_sweep.py writes freeze_sweep's CSV schema exactly: a tiny sweep into a
scratch directory, then its header against bench/results.c's fzb_result_columns (parsed
from the source, the one list both sides follow), and every row against the schema's
rules.  Given the built freeze_sweep, the same tiny sweep runs there too and both must
have the same configurations, phases and machine columns, the same parameter counts and
the same planned FLOPs (total, dgrad, wgrad) and optimizer bytes.

usage: tests/pytorch_schema_check.py bench/results.c bench/pytorch_sweep.py [freeze_sweep]
Exit status: 0 passed, 1 failed, 77 torch or freeze_sweep missing (meson's SKIP).
With FREEZEBENCH_SYSFS_ROOT pointing at an empty folder both sides see a machine without
sysfs cache directories (as on some VMs) and must still agree.
"""
import csv
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

results_c, sweep = sys.argv[1:3]
freeze_sweep = sys.argv[3] if len(sys.argv) > 3 else None

# Two models (one with a comma in its name, so CSV quoting is exercised), a spec that
# fits only the deeper one, a comma-separated spec, and two thread counts.
ARGS = ["--model", "10,5,1@8", "--model", "16x4@4", "--threads", "1,2",
        "--spec", "prefix:2", "--spec", "fc1.weight,fc2.bias", "--spec", "last",
        "--repetitions", "2", "--min-time", "0.002"]
PHASES = {"forward", "backward", "optimizer", "step"}
# Every system column both sides take from the C description (isa, compiler and the
# OpenBLAS core are each implementation's own).
MACHINE = ["schema_version", "system_id", "host", "cpu_vendor", "cpu_family",
           "cpu_model_number", "cpu_stepping", "uarch", "cpu_model", "arch", "vector_isa",
           "hypervisor", "cores", "smt", "l1d_bytes", "l2_bytes", "l3_bytes", "cache_source",
           "memory_bytes", "governor", "os", "kernel"]
SAME_AS_C = ["trainable_params", "frozen_params", "flops_planned", "dgrad_flops_planned",
             "wgrad_flops_planned", "bytes", "repetitions"]


def schema_columns():
    text = open(results_c).read()
    body = re.search(r"fzb_result_columns\[\]\s*=\s*\{(.*?)\};", text, re.S).group(1)
    return re.findall(r'"([^"]*)"', re.sub(r"/\*.*?\*/", "", body, flags=re.S))


def read(path):
    with open(path, newline="") as f:
        raw = f.read()
    with open(path, newline="") as f:
        reader = csv.reader(f)
        return raw, next(reader), list(reader)


def key(r):
    return (r["model"], r["batch"], r["threads"], r["freeze_spec"], r["phase"])


def main():
    if importlib.util.find_spec("torch") is None:   # the sweep needs it
        print("SKIP: no torch")
        return 77
    columns = schema_columns()
    problems = []
    if len(columns) < 40 or "system_id" not in columns:
        problems.append(f"parsed {len(columns)} columns out of {results_c}: not the schema")
    if not freeze_sweep:
        print("SKIP: the PyTorch sweep takes its system description from freeze_sweep, "
              "which this build lacks")
        return 77
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "pytorch.csv")
        subprocess.run([sys.executable, sweep, *ARGS, "--output", out, "--freeze-sweep",
                        freeze_sweep], check=True, stdout=subprocess.DEVNULL)
        raw, header, rows = read(out)
        c_out = os.path.join(d, "c.csv")
        subprocess.run([freeze_sweep, *ARGS, "--output", c_out], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, c_header, c_rows = read(c_out)
        if c_header != columns:
            problems.append("freeze_sweep's own header differs from results.c's list")

    if header != columns:
        problems.append(f"header differs from fzb_result_columns:\n  got  {header}\n"
                        f"  want {columns}")
    if raw.count("\r\n") != len(rows) + 1 or raw.count("\n") != len(rows) + 1:
        problems.append("not one CRLF-ended line per row")
    if any(len(r) != len(header) for r in rows):
        problems.append("a row with another field count than the header")
        rows = []
    rows = [dict(zip(header, r)) for r in rows]
    for r in rows:
        where = " ".join(key(r))
        for col, want in (("schema_version", "3"), ("impl", "pytorch"),
                          ("bench", "freeze_sweep")):
            if r[col] != want:
                problems.append(f"{where}: {col} '{r[col]}', expected '{want}'")
        if r["phase"] not in PHASES:
            problems.append(f"{where}: phase '{r['phase']}'")
        # README: empty = does not apply, which no cell of these rows is (every `none`
        # value a cut divides by is above 0 here).
        empty = [c for c in columns if r[c] == ""]
        if empty:
            problems.append(f"{where}: empty {empty}")
        if r["flops_executed"] != r["flops_planned"]:
            problems.append(f"{where}: flops_executed is not the planned count")
        split = r["phase"] in ("backward", "step")
        dw = float(r["dgrad_flops_planned"]) + float(r["wgrad_flops_planned"])
        if split and r["phase"] == "backward" and dw != float(r["flops_planned"]):
            problems.append(f"{where}: dgrad + wgrad != backward FLOPs")
        if not split and dw != 0:
            problems.append(f"{where}: dgrad/wgrad outside backward and step")
        if (r["phase"] == "optimizer") != (r["bytes"] != "0"):
            problems.append(f"{where}: bytes {r['bytes']}")
        # Without --machine-from the peak and bandwidth are unknown, so is the fraction.
        for c in ("peak_gflops", "peak_isa", "bandwidth_gbytes_per_s", "fraction_of_peak"):
            if r[c] != "NA":
                problems.append(f"{where}: {c} '{r[c]}' without --machine-from")

    c = {key(r): r for r in (dict(zip(c_header, v)) for v in c_rows)}
    ours = {key(r): r for r in rows}
    if set(c) != set(ours):
        problems.append(f"configurations differ: only C {sorted(set(c) - set(ours))}, "
                        f"only PyTorch {sorted(set(ours) - set(c))}")
    for k in set(c) & set(ours):
        for col in MACHINE + SAME_AS_C:
            if c[k][col] != ours[k][col]:
                problems.append(f"{' '.join(k)}: {col} C '{c[k][col]}', PyTorch "
                                f"'{ours[k][col]}'")
    for p in problems:
        print("FAIL", p)
    print(f"{len(rows)} rows checked against {len(c_rows)} freeze_sweep rows")
    return 1 if problems or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
