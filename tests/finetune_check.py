#!/usr/bin/python3
"""The fine-tuning benchmark in miniature: run build/bench/finetune (or
bench/pytorch_finetune.py) with --quick, then check its CSV and plot it.

usage: finetune_check.py c FINETUNE PYTORCH_FINETUNE_PY PLOT_PY OUTDIR
       finetune_check.py torch FREEZE_SWEEP PYTORCH_FINETUNE_PY PLOT_PY OUTDIR

Checked: the header is pytorch_finetune.COLUMNS (so both writers keep one column list);
every optimizer x default spec x epoch is there once; time_s increases within a run and
equals the sum of its epoch_time_s; accuracies are in [0, 1] and best_accuracy is the
run's largest; optimizer_state_bytes is 2 x 4 x trainable_params under AdamW and 4 x under
SGD with momentum; the target is target_fraction x the best accuracy of `none` with the
same optimizer, and reached_target, time_to_target_s and target_epoch agree with it.
C only: with --cache, a cache=1 run for each spec that freezes fc1 (prefix:K, last,
gradual) whose epochs after the first start at the cached layer, with the same
accuracies as without the cache (the cache keeps training bitwise the same).
Both: a second run onto the existing --output without --overwrite is refused (exit 2)
and leaves the file as it was.
Then results/plot_finetune.py draws it (a SKIP of its own without matplotlib is
tolerated).  Exit 77 (meson's SKIP) without the data set, or torch for the PyTorch mode.
"""
import csv
import importlib.util
import math
import os
import subprocess
import sys

DATA = "/usr/share/datasets/fashion-mnist"
SKIP = 77
SPECS = ["none", "prefix:1", "prefix:2", "last", "bitfit", "gradual"]
CACHED = ["prefix:1", "prefix:2", "last", "gradual"]
EPOCHS = 3


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    mode, prog, script, plot, outdir = sys.argv[1:6]
    if not os.path.isdir(DATA):
        print(f"SKIP: no Fashion-MNIST at {DATA} (apt-get install dataset-fashion-mnist)")
        return SKIP
    spec = importlib.util.spec_from_file_location("pytorch_finetune", script)
    ptf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ptf)   # imports no torch at module level
    out = os.path.join(outdir, f"finetune_quick_{mode}.csv")
    common = ["--quick", "--threads", "1", "--overwrite", "--allow-dirty", "--output", out]
    if mode == "c":
        cmd = [prog, "--cache"] + common
    else:
        cmd = [sys.executable, script, "--freeze-sweep", prog] + common
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    print(run.stdout[-3000:], run.stderr[-2000:])
    if run.returncode == SKIP:
        print("SKIP: the program skipped (see above)")
        return SKIP
    if run.returncode != 0:
        fail(f"{cmd[0]} exited {run.returncode}")
    with open(out, newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    if header != ptf.COLUMNS:
        fail(f"header differs from pytorch_finetune.COLUMNS: {header}")
    impl = "freezebench" if mode == "c" else "pytorch"
    runs = {}
    for r in rows:
        if (r["schema_version"], r["bench"], r["impl"]) != ("finetune-1", "finetune", impl):
            fail(f"row {r['schema_version']} {r['bench']} {r['impl']}")
        runs.setdefault((r["optimizer"], r["freeze_spec"], r["cache"]), []).append(r)
    want = {(o, s, "0") for o in ("adamw", "sgd") for s in SPECS}
    if mode == "c":
        want |= {(o, s, "1") for o in ("adamw", "sgd") for s in CACHED}
    if set(runs) != want:
        fail(f"runs {sorted(runs)}, expected {sorted(want)}")
    for key, rs in runs.items():
        epochs = [int(r["epoch"]) for r in rs]
        if epochs != list(range(1, EPOCHS + 1)):
            fail(f"{key}: epochs {epochs}")
        t = [float(r["time_s"]) for r in rs]
        if any(b <= a for a, b in zip(t, t[1:])) or t[0] <= 0:
            fail(f"{key}: time_s not increasing: {t}")
        if abs(sum(float(r["epoch_time_s"]) for r in rs) - t[-1]) > 1e-9 * max(1, t[-1]):
            fail(f"{key}: time_s is not the sum of epoch_time_s")
        acc = [float(r["test_accuracy"]) for r in rs]
        if not all(0 <= a <= 1 for a in acc) or float(rs[0]["best_accuracy"]) != max(acc):
            fail(f"{key}: accuracies {acc}, best {rs[0]['best_accuracy']}")
        per = 8 if key[0] == "adamw" else 4
        for r in rs:
            if int(r["optimizer_state_bytes"]) != per * int(r["trainable_params"]):
                fail(f"{key} epoch {r['epoch']}: optimizer_state_bytes "
                     f"{r['optimizer_state_bytes']} != {per} x {r['trainable_params']}")
        none = max(float(r["test_accuracy"]) for r in runs[(key[0], "none", "0")])
        target = float(rs[0]["target_fraction"]) * none
        if not math.isclose(float(rs[0]["target_accuracy"]), target, rel_tol=1e-12):
            fail(f"{key}: target_accuracy {rs[0]['target_accuracy']}, expected {target}")
        hit = [r for r in rs if float(r["test_accuracy"]) >= target]
        for r in rs:
            if int(r["reached_target"]) != (float(r["test_accuracy"]) >= target):
                fail(f"{key} epoch {r['epoch']}: reached_target {r['reached_target']}")
            if (r["time_to_target_s"] == "") != (not hit) or \
                    hit and float(r["time_to_target_s"]) != float(hit[0]["time_s"]):
                fail(f"{key}: time_to_target_s {r['time_to_target_s']}")
    if mode == "c":
        for o in ("adamw", "sgd"):
            for s in CACHED:
                plain, cached = runs[(o, s, "0")], runs[(o, s, "1")]
                if [r["test_accuracy"] for r in plain] != [r["test_accuracy"] for r in cached]:
                    fail(f"{o} {s}: the cache changed the accuracies")
                if any(int(r["cached_steps"]) for r in plain):
                    fail(f"{o} {s}: cached steps without the cache")
                if s != "gradual" and not all(int(r["cached_steps"]) == int(r["steps"])
                                             for r in cached[1:]):
                    fail(f"{o} {s}: epochs after the first did not start at the cache")
    # Publishing: an existing --output is refused without --overwrite (exit 2, before any
    # training), and the file is left as it was.
    before = open(out, "rb").read()
    again = subprocess.run([c for c in cmd if c != "--overwrite"], capture_output=True,
                           text=True, timeout=120)
    if again.returncode != 2 or "exists" not in again.stderr or open(out, "rb").read() != before:
        fail(f"an existing --output without --overwrite: exit {again.returncode}, "
             f"{again.stderr.strip()}")
    print(f"{len(rows)} rows, {len(runs)} runs: OK")
    png = os.path.join(outdir, f"finetune_quick_{mode}.png")
    p = subprocess.run([sys.executable, plot, out, "--output", png])
    if p.returncode not in (0, SKIP) or p.returncode == 0 and not os.path.getsize(png):
        fail(f"plot_finetune.py exited {p.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
