#!/usr/bin/python3
"""The fine-tuning benchmark in miniature: run build/bench/finetune (or
bench/pytorch_finetune.py) with --quick, then check its CSV and plot it.

usage: finetune_check.py c FINETUNE PYTORCH_FINETUNE_PY PLOT_PY OUTDIR
       finetune_check.py torch FREEZE_SWEEP PYTORCH_FINETUNE_PY PLOT_PY OUTDIR

The run asks for --evals-per-epoch 3: the 8 steps of a --quick epoch do not divide by 3,
so the parts (2, 3, 3 steps) hold both sides to the integer rule j*S//E.
Checked: the header is pytorch_finetune.COLUMNS (so both writers keep one column list);
schema finetune-2; every optimizer x default spec is there once, its rows epochs 1..3 each
with evaluations 1..E in that order; each part's steps are the rule's (so an epoch's sum
S = train_samples // batch) and epochs_done is (epoch - 1) + steps done in the epoch / S,
increasing; time_s increases within a run and is the running sum of its part_time_s;
the frozen set changes only at epoch starts; accuracies are in [0, 1] and best_accuracy
is the run's largest over all evaluations; optimizer_state_bytes is 2 x 4 x
trainable_params under AdamW and 4 x under SGD with momentum; the target is
target_fraction x the best accuracy of `none` with the same optimizer, and
reached_target, time_to_target_s, target_epoch and target_epochs_done agree with it
(the first evaluation at the target).
E = 1 gives one row an epoch, the same accuracies as the E = 3 run's epoch ends
(evaluating between parts does not change the training).  --evals-per-epoch 0 and 9
(over the 8 steps) are refused (exit 2, naming the option, no file).
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
EVALS = 3   # does not divide --quick's 8 steps an epoch: uneven parts


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def command(mode, prog, script, out, evals):
    common = ["--quick", "--threads", "1", "--overwrite", "--allow-dirty", "--output", out,
              "--evals-per-epoch", str(evals)]
    if mode == "c":
        return [prog, "--cache"] + common
    return [sys.executable, script, "--freeze-sweep", prog] + common


def run_and_read(cmd, out):
    """Run cmd (SKIP and failure handled here) and read its CSV: (header, rows)."""
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    print(run.stdout[-3000:], run.stderr[-2000:])
    if run.returncode == SKIP:
        print("SKIP: the program skipped (see above)")
        sys.exit(SKIP)
    if run.returncode != 0:
        fail(f"{' '.join(cmd)} exited {run.returncode}")
    with open(out, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def group(rows, impl):
    runs = {}
    for r in rows:
        if (r["schema_version"], r["bench"], r["impl"]) != ("finetune-2", "finetune", impl):
            fail(f"row {r['schema_version']} {r['bench']} {r['impl']}")
        runs.setdefault((r["optimizer"], r["freeze_spec"], r["cache"]), []).append(r)
    return runs


def check_parts(key, rs, evals):
    """The rows of one run: its epochs and evaluations, steps, epochs_done and times."""
    where = [(int(r["epoch"]), int(r["evaluation"])) for r in rs]
    if where != [(e, j) for e in range(1, EPOCHS + 1) for j in range(1, evals + 1)]:
        fail(f"{key}: (epoch, evaluation) {where}")
    if {int(r["evals_per_epoch"]) for r in rs} != {evals}:
        fail(f"{key}: evals_per_epoch {sorted({r['evals_per_epoch'] for r in rs})}, "
             f"asked {evals}")
    S = int(rs[0]["train_samples"]) // int(rs[0]["batch"])
    for r in rs:
        e, j = int(r["epoch"]), int(r["evaluation"])
        end, start = j * S // evals, (j - 1) * S // evals   # the part's steps (j-1, j]
        if int(r["steps"]) != end - start or not 0 <= int(r["cached_steps"]) <= end - start:
            fail(f"{key} epoch {e} evaluation {j}: steps {r['steps']} (cached "
                 f"{r['cached_steps']}), expected {end - start} of {S}")
        if not math.isclose(float(r["epochs_done"]), e - 1 + end / S, rel_tol=1e-12):
            fail(f"{key} epoch {e} evaluation {j}: epochs_done {r['epochs_done']}, "
                 f"expected {e - 1 + end / S}")
    for e in range(1, EPOCHS + 1):
        mine = [r for r in rs if int(r["epoch"]) == e]
        if sum(int(r["steps"]) for r in mine) != S:
            fail(f"{key} epoch {e}: steps sum to {sum(int(r['steps']) for r in mine)}, not {S}")
        # A schedule acts at epoch starts only: one frozen set an epoch.
        if len({r["trainable_params"] for r in mine}) != 1:
            fail(f"{key} epoch {e}: trainable_params change within the epoch")
    done = [float(r["epochs_done"]) for r in rs]
    if any(b <= a for a, b in zip(done, done[1:])):
        fail(f"{key}: epochs_done not increasing: {done}")
    t = [float(r["time_s"]) for r in rs]
    if any(b <= a for a, b in zip(t, t[1:])) or t[0] <= 0:
        fail(f"{key}: time_s not increasing: {t}")
    total = 0.0
    for r, ti in zip(rs, t):
        total += float(r["part_time_s"])
        if abs(total - ti) > 1e-9 * max(1, ti):
            fail(f"{key}: time_s {ti} is not the running sum of part_time_s ({total})")


def check_targets(key, rs, runs):
    acc = [float(r["test_accuracy"]) for r in rs]
    if not all(0 <= a <= 1 for a in acc) or float(rs[0]["best_accuracy"]) != max(acc):
        fail(f"{key}: accuracies {acc}, best {rs[0]['best_accuracy']}")
    per = 8 if key[0] == "adamw" else 4
    for r in rs:
        if int(r["optimizer_state_bytes"]) != per * int(r["trainable_params"]):
            fail(f"{key} epoch {r['epoch']} evaluation {r['evaluation']}: "
                 f"optimizer_state_bytes {r['optimizer_state_bytes']} != {per} x "
                 f"{r['trainable_params']}")
    none = max(float(r["test_accuracy"]) for r in runs[(key[0], "none", "0")])
    target = float(rs[0]["target_fraction"]) * none
    if not math.isclose(float(rs[0]["target_accuracy"]), target, rel_tol=1e-12):
        fail(f"{key}: target_accuracy {rs[0]['target_accuracy']}, expected {target}")
    hit = [r for r in rs if float(r["test_accuracy"]) >= target]
    # The first evaluation at the target names the time, the epoch and the epochs done.
    want = {k: hit[0][v] if hit else "" for k, v in (
        ("time_to_target_s", "time_s"), ("target_epoch", "epoch"),
        ("target_epochs_done", "epochs_done"))}
    for r in rs:
        if int(r["reached_target"]) != (float(r["test_accuracy"]) >= target):
            fail(f"{key} epoch {r['epoch']} evaluation {r['evaluation']}: reached_target "
                 f"{r['reached_target']}")
        for k, v in want.items():
            if (r[k] == "") != (v == "") or v and float(r[k]) != float(v):
                fail(f"{key}: {k} {r[k]}, expected {v or 'empty'}")


def check_cache(runs):
    for o in ("adamw", "sgd"):
        for s in CACHED:
            plain, cached = runs[(o, s, "0")], runs[(o, s, "1")]
            if [r["test_accuracy"] for r in plain] != [r["test_accuracy"] for r in cached]:
                fail(f"{o} {s}: the cache changed the accuracies")
            if any(int(r["cached_steps"]) for r in plain):
                fail(f"{o} {s}: cached steps without the cache")
            later = [r for r in cached if int(r["epoch"]) > 1]
            if s != "gradual" and not all(int(r["cached_steps"]) == int(r["steps"])
                                         for r in later):
                fail(f"{o} {s}: epochs after the first did not start at the cache")
            # gradual unfreezes the top of its prefix every epoch: no step could read a
            # cache, so none is built (ft_experiment.c, cache_epochs).
            if s == "gradual" and any(int(r["cached_steps"]) or int(r["cache_bytes"])
                                      for r in cached):
                fail(f"{o} {s}: a cache was built that no step can read")


def check_one_eval(mode, prog, script, outdir, runs, impl):
    """E = 1: one row an epoch, evaluation 1, epochs_done = epoch, and the accuracies of
    the E-part run's epoch ends (the parts are the same steps, in the same order)."""
    out = os.path.join(outdir, f"finetune_quick_{mode}_e1.csv")
    _, rows = run_and_read(command(mode, prog, script, out, 1), out)
    for key, rs in group(rows, impl).items():
        check_parts(key, rs, 1)
        if any(float(r["epochs_done"]) != int(r["epoch"]) for r in rs):
            fail(f"{key}: E = 1 but epochs_done {[r['epochs_done'] for r in rs]}")
        ends = [r for r in runs.get(key, []) if int(r["evaluation"]) == EVALS]
        if [r["test_accuracy"] for r in rs] != [r["test_accuracy"] for r in ends]:
            fail(f"{key}: E = 1 accuracies {[r['test_accuracy'] for r in rs]}, the E = "
                 f"{EVALS} run's epoch ends {[r['test_accuracy'] for r in ends]}")


def check_refusals(mode, prog, script, outdir):
    """--evals-per-epoch out of [1, steps per epoch]: exit 2 naming it, no file."""
    for evals in (0, 9):   # 9 > the 8 steps of a --quick epoch
        out = os.path.join(outdir, f"finetune_quick_{mode}_refused.csv")
        if os.path.exists(out):
            os.remove(out)
        p = subprocess.run(command(mode, prog, script, out, evals), capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 2 or "--evals-per-epoch" not in p.stderr or os.path.exists(out):
            fail(f"--evals-per-epoch {evals}: exit {p.returncode}, {p.stderr.strip()}")


def main():
    mode, prog, script, plot, outdir = sys.argv[1:6]
    if not os.path.isdir(DATA):
        print(f"SKIP: no Fashion-MNIST at {DATA} (apt-get install dataset-fashion-mnist)")
        return SKIP
    spec = importlib.util.spec_from_file_location("pytorch_finetune", script)
    ptf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ptf)   # imports no torch at module level
    out = os.path.join(outdir, f"finetune_quick_{mode}.csv")
    cmd = command(mode, prog, script, out, EVALS)
    header, rows = run_and_read(cmd, out)
    if header != ptf.COLUMNS:
        fail(f"header differs from pytorch_finetune.COLUMNS: {header}")
    impl = "freezebench" if mode == "c" else "pytorch"
    runs = group(rows, impl)
    want = {(o, s, "0") for o in ("adamw", "sgd") for s in SPECS}
    if mode == "c":
        want |= {(o, s, "1") for o in ("adamw", "sgd") for s in CACHED}
    if set(runs) != want:
        fail(f"runs {sorted(runs)}, expected {sorted(want)}")
    for key, rs in runs.items():
        check_parts(key, rs, EVALS)
        check_targets(key, rs, runs)
    if mode == "c":
        check_cache(runs)
    check_one_eval(mode, prog, script, outdir, runs, impl)
    check_refusals(mode, prog, script, outdir)
    # Publishing: an existing --output is refused without --overwrite (exit 2, before any
    # training), and the file is left as it was.
    before = open(out, "rb").read()
    again = subprocess.run([c for c in cmd if c != "--overwrite"], capture_output=True,
                           text=True, timeout=120)
    if again.returncode != 2 or "exists" not in again.stderr or open(out, "rb").read() != before:
        fail(f"an existing --output without --overwrite: exit {again.returncode}, "
             f"{again.stderr.strip()}")
    print(f"{len(rows)} rows, {len(runs)} runs, {EVALS} evaluations an epoch: OK")
    png = os.path.join(outdir, f"finetune_quick_{mode}.png")
    p = subprocess.run([sys.executable, plot, out, "--output", png])
    if p.returncode not in (0, SKIP) or p.returncode == 0 and not os.path.getsize(png):
        fail(f"plot_finetune.py exited {p.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
