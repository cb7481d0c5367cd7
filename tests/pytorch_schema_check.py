#!/usr/bin/python3
"""bench/pytorch_sweep.py writes freeze_sweep's CSV schema exactly: a tiny sweep into a
scratch directory, then its header against bench/results/results.c's fzb_result_columns (parsed
from the source, the one list both sides follow), its schema_version against
bench/results/results.h's FZB_SCHEMA_VERSION, and every row against the schema's rules.  Given
the built freeze_sweep, the same tiny sweep runs there too and both must have the same
configurations, phases and machine columns, the same parameter counts and the same
planned FLOPs (total, dgrad, wgrad); the optimizer's bytes at most PyTorch's (freezebench
folds weights' updates into the backward).

The repetitions (schema 4), on both sides' rows: time_samples_s parses (results/stats.py
parse_samples), holds `repetitions` times whose median, min and max are exactly
time_median_s, time_min_s and time_max_s; with 6 repetitions the median's interval
brackets the median and its ends are two of the samples; the cut's interval is ordered,
and `none`'s own is exactly [0, 0].

Without --spec each model gets freeze_sweep's default specs for its depth: a second tiny
pair of sweeps (10,5,1 and 8x9, no --spec) must have the same configurations.

The dirty-checkout refusal runs for real, inside this process: pytorch_sweep's main()
with its git_revision() replaced by one that reports '0123abc-dirty' and subprocess.run
replaced by a recorder must exit 2, say why and that --allow-dirty overrides it, write
nothing and start nothing (no machine query, no measurement).  The sweeps above run with
--allow-dirty, as a developer's checkout is often dirty.

usage: tests/pytorch_schema_check.py bench/results/results.c bench/pytorch_sweep.py
                                     [freeze_sweep]
Exit status: 0 passed, 1 failed, 77 torch or freeze_sweep missing (meson's SKIP).
With FREEZEBENCH_SYSFS_ROOT pointing at an empty folder both sides see a machine without
sysfs cache directories (as on some VMs) and must still agree.
"""
import argparse
import contextlib
import csv
import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile
import types

results_c, sweep = sys.argv[1:3]
freeze_sweep = sys.argv[3] if len(sys.argv) > 3 else None
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(sweep)), os.pardir,
                                "results"))
import stats  # noqa: E402  (results/stats.py, the samples' parser)

# Two models (one with a comma in its name, so CSV quoting is exercised), a spec that
# fits only the deeper one, a comma-separated spec, and two thread counts; 6 repetitions,
# the fewest that give intervals (stats.MIN_SAMPLES).
ARGS = ["--model", "10,5,1@8", "--model", "16x4@4", "--threads", "1,2",
        "--spec", "prefix:2", "--spec", "fc1.weight,fc2.bias", "--spec", "last",
        "--repetitions", str(stats.MIN_SAMPLES), "--min-time", "0.002"]
# No --spec: each model its default specs (8x9: 8 layers, all eight of them).
DEFAULT_ARGS = ["--model", "10,5,1@8", "--model", "8x9@2", "--threads", "1",
                "--repetitions", "1", "--min-time", "0.001"]
PHASES = {"forward", "backward", "optimizer", "step"}
# Every system column both sides take from the C description (isa, compiler and the
# OpenBLAS core are each implementation's own).
MACHINE = ["schema_version", "system_id", "host", "cpu_vendor", "cpu_family",
           "cpu_model_number", "cpu_stepping", "uarch", "cpu_model", "arch", "vector_isa",
           "hypervisor", "cores", "smt", "l1d_bytes", "l2_bytes", "l3_bytes", "cache_source",
           "memory_bytes", "governor", "os", "kernel"]
SAME_AS_C = ["trainable_params", "frozen_params", "flops_planned", "dgrad_flops_planned",
             "wgrad_flops_planned", "repetitions"]


def schema_columns():
    text = open(results_c).read()
    body = re.search(r"fzb_result_columns\[\]\s*=\s*\{(.*?)\};", text, re.S).group(1)
    return re.findall(r'"([^"]*)"', re.sub(r"/\*.*?\*/", "", body, flags=re.S))


def schema_version():
    """FZB_SCHEMA_VERSION from results.h beside results.c."""
    with open(os.path.join(os.path.dirname(results_c), "results.h")) as f:
        return re.search(r"#define\s+FZB_SCHEMA_VERSION\s+([0-9]+)", f.read()).group(1)


def load_sweep():
    spec = importlib.util.spec_from_file_location("pytorch_sweep", sweep)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_problems(r, where):
    """time_samples_s against the row's own repetitions, median, min, max and intervals."""
    out = []
    try:
        xs = stats.parse_samples(r["time_samples_s"])
    except ValueError as e:
        return [f"{where}: time_samples_s '{r['time_samples_s'][:80]}': {e}"]
    if len(xs) != int(r["repetitions"]):
        return [f"{where}: {len(xs)} samples, repetitions {r['repetitions']}"]
    for col, want in (("time_median_s", stats.median(xs)), ("time_min_s", min(xs)),
                      ("time_max_s", max(xs))):
        if float(r[col]) != want:
            out.append(f"{where}: {col} {r[col]}, the samples' {want!r}")
    lo, hi = r["time_median_ci_low_s"], r["time_median_ci_high_s"]
    if len(xs) >= stats.MIN_SAMPLES:
        if not lo or not hi or not float(lo) <= float(r["time_median_s"]) <= float(hi) \
                or float(lo) not in xs or float(hi) not in xs:
            out.append(f"{where}: median interval [{lo}, {hi}] of {xs}")
    elif lo or hi:
        out.append(f"{where}: a median interval from {len(xs)} samples")
    clo, chi = r["time_cut_ci_low"], r["time_cut_ci_high"]
    if (clo == "") != (chi == "") or clo and float(clo) > float(chi):
        out.append(f"{where}: cut interval [{clo}, {chi}]")
    if clo and r["time_cut"] == "":
        out.append(f"{where}: a cut interval without a cut")
    # `none` against itself: a cut of exactly 0, no interval around it (both writers).
    if r["freeze_spec"] == "none" and len(xs) >= stats.MIN_SAMPLES \
            and (clo, chi) != ("0", "0"):
        out.append(f"{where}: none's own cut interval [{clo}, {chi}], want [0, 0]")
    return out


def dirty_refusal_problems(out_dir):
    """main() of a checkout reporting a dirty revision: exit 2 before anything runs."""
    module = load_sweep()
    ran = []

    def recorder(cmd, *a, **k):
        ran.append(cmd)
        raise AssertionError("pytorch_sweep started a process before refusing")
    # This module instance's own names, so the rest of this process is untouched.
    module.git_revision = lambda: "0123abc-dirty"
    module.subprocess = types.SimpleNamespace(run=recorder, PIPE=subprocess.PIPE)
    out = os.path.join(out_dir, "dirty.csv")
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = module.main([*ARGS, "--output", out, "--freeze-sweep",
                                  freeze_sweep or "freeze_sweep"])
    except SystemExit as e:     # argparse's exit, should the options be refused
        status = e.code
    except AssertionError as e:  # the recorder: it went on past the refusal
        status = f"none ({e})"
    problems = []
    text = err.getvalue()
    if status != 2:
        problems.append(f"dirty checkout: exit {status}, want 2 ({text.strip()})")
    for word in ("0123abc-dirty", "--allow-dirty", "name the code"):
        if word not in text:
            problems.append(f"dirty checkout: the message does not say '{word}': {text}")
    if ran or os.path.exists(out):
        problems.append(f"dirty checkout: ran {ran}, wrote a file: {os.path.exists(out)}")
    # Whom the refusal spares: --allow-dirty, --no-csv, and a clean checkout.
    opts = lambda **k: argparse.Namespace(**dict(dict(no_csv=False, allow_dirty=False), **k))
    for revision, args, refused in (("0123abc-dirty", opts(), True),
                                    ("0123abc-dirty", opts(allow_dirty=True), False),
                                    ("0123abc-dirty", opts(no_csv=True), False),
                                    ("0123abc", opts(), False), ("unknown", opts(), False)):
        if (module.refuse_dirty(revision, args) is not None) != refused:
            problems.append(f"refuse_dirty({revision}, {args}) should "
                            f"{'' if refused else 'not '}refuse")
    return problems


def run_pair(d, args, tag):
    """The same sweep on both sides into d; (PyTorch's raw text, header, rows; C's header,
    rows), the C side's None without freeze_sweep."""
    out = os.path.join(d, f"pytorch-{tag}.csv")
    subprocess.run([sys.executable, sweep, *args, "--allow-dirty", "--output", out,
                    "--freeze-sweep", freeze_sweep], check=True, stdout=subprocess.DEVNULL)
    c_out = os.path.join(d, f"c-{tag}.csv")
    subprocess.run([freeze_sweep, *args, "--allow-dirty", "--output", c_out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return read(out), read(c_out)


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
    version = schema_version()
    with tempfile.TemporaryDirectory() as d:
        problems += dirty_refusal_problems(d)
        (raw, header, rows), (_, c_header, c_rows) = run_pair(d, ARGS, "given")
        if c_header != columns:
            problems.append("freeze_sweep's own header differs from results.c's list")
        (_, dh, d_rows), (_, dch, dc_rows) = run_pair(d, DEFAULT_ARGS, "default")
        configs = lambda h, rs: {(r[h.index("model")], r[h.index("freeze_spec")]) for r in rs}
        if configs(dh, d_rows) != configs(dch, dc_rows):
            problems.append(f"without --spec: PyTorch measured {sorted(configs(dh, d_rows))}, "
                            f"freeze_sweep {sorted(configs(dch, dc_rows))}")

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
        for col, want in (("schema_version", version), ("impl", "pytorch"),
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
        problems.extend(sample_problems(r, f"PyTorch {where}"))

    c = {key(r): r for r in (dict(zip(c_header, v)) for v in c_rows)}
    for k, r in c.items():
        problems.extend(sample_problems(r, f"freeze_sweep {' '.join(k)}"))
    ours = {key(r): r for r in rows}
    if set(c) != set(ours):
        problems.append(f"configurations differ: only C {sorted(set(c) - set(ours))}, "
                        f"only PyTorch {sorted(set(ours) - set(c))}")
    for k in set(c) & set(ours):
        for col in MACHINE + SAME_AS_C:
            if c[k][col] != ours[k][col]:
                problems.append(f"{' '.join(k)}: {col} C '{c[k][col]}', PyTorch "
                                f"'{ours[k][col]}'")
        # The optimizer row's bytes: PyTorch updates every trainable parameter in the
        # phase, freezebench only those whose update it did not fold into the backward
        # (results/README.md): 20 bytes each of at most as many.
        cb, pb = float(c[k]["bytes"]), float(ours[k]["bytes"])
        if not (cb <= pb and cb % 20 == 0):
            problems.append(f"{' '.join(k)}: bytes C '{c[k]['bytes']}', PyTorch "
                            f"'{ours[k]['bytes']}' (C must count 20 per parameter, at "
                            "most PyTorch's)")
    for p in problems:
        print("FAIL", p)
    print(f"{len(rows)} rows checked against {len(c_rows)} freeze_sweep rows")
    return 1 if problems or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
