#!/usr/bin/python3
"""freezebench's fine-tuning against PyTorch's, interleaved over several seeds: the time
to a target accuracy per freeze spec, as a ratio with its spread.

usage: /usr/bin/python3 bench/finetune_vs_pytorch.py [--seeds N] [--first-seed S]
           [--first c|pytorch] [--optimizer adamw|sgd|both] [--spec S]... [--cache]
           [--evals-per-epoch E] [--threads T] [--target-fraction F] [--quick]
           [--blas-own-choice]
           [--output PATH [--overwrite] | --no-csv] [--allow-dirty] [--keep DIR]
           [--finetune PATH] [--freeze-sweep PATH]

Why a driver: one run of each side, back to back, left the SGD margins inside this
machine's drift (about 15% between runs minutes apart), and a time to a target read at
epoch ends hinges on which side of the target one epoch's accuracy lands (0.9104 against
0.9133 turned a 1.47x faster epoch into a 0.68x "time to target").  So:

- Pairs, interleaved.  For every seed and optimizer, build/bench/finetune and
  bench/pytorch_finetune.py run the same experiment (same initial parameters, head and
  sample order for the seed: see pytorch_finetune.py) one right after the other, and the
  side that goes first alternates from pair to pair, starting with --first.  Run it once
  with --first c and once with --first pytorch: a ratio that moves with the order is
  drift, not a result.
- A common target.  Per seed and optimizer the target is F x the mean of the two sides'
  best accuracy of spec none (no cache), so both sides chase the same number.
- Evaluations within epochs.  Both sides evaluate E times an epoch (--evals-per-epoch,
  default 4, passed to both: parts of nearly equal steps, evaluation not timed), so
  each curve has E points an epoch instead of one.
- Interpolated crossing.  The time to the target is read off each side's curve of
  (cumulative training time, test accuracy) at its evaluations: the first evaluation's
  time if its accuracy reaches the target, else the straight line between the last
  evaluation below and the first at or above it.  So one evaluation landing just under
  the target moves the time by a fraction of a part (1/E of an epoch), not of a whole
  epoch.  It still assumes the curve is straight between two evaluations, and with
  concave curves that errs late, on both sides alike (less, the shorter the parts).
- Spread.  Each seed gives a ratio (PyTorch's time over freezebench's); the CSV gives
  their median and their minimum and maximum (with a handful of seeds that range is the
  honest interval, not a 95% one).  The same for the ratio of the whole fine-tuning
  time (all epochs).
- Pace and progress.  Each seed's time-to-target ratio is split exactly into two
  factors read off the same curves: the epochs each side needed (the crossing on the
  curve of epochs_done, the fractional epochs at each evaluation, by the same rule),
  whose ratio (PyTorch's over freezebench's) says which side's trajectory happened to
  reach the target in fewer steps, and the seconds per epoch up to the crossing, whose
  ratio is the speed alone.  ttt ratio = pace ratio x epochs
  ratio.  The two sides' trajectories differ only by float rounding, so an epochs ratio
  away from 1 is that rounding's luck: with SGD's noisy test accuracy it moves a seed's
  ttt ratio by up to a quarter, in either direction, while the pace stays put.

A C run with --cache is compared with PyTorch's run of the same spec (PyTorch has no
cache).  The CSV (schema finetune-vs-pytorch-3, one row per optimizer, spec and cache)
lists the seeds that reached the target on both sides; a spec neither side reaches has
empty ratios.  Its system columns are the C side's.  Default output
results/finetune-vs-pytorch-<system_id>-<threads>.csv, never replacing a file unless
--overwrite; a build or checkout with uncommitted changes is refused without
--allow-dirty.  --keep DIR keeps every pair's two CSVs.

Exit status: 0 written, 1 a failure, 2 a bad option, 77 torch or the data missing (SKIP).
"""
import argparse
import csv
import math
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, os.pardir, "build", "bench")
SCHEMA = "finetune-vs-pytorch-3"
SIDE_SCHEMA = "finetune-2"   # the two sides' CSVs
SYSTEM_COLUMNS = ("system_id host cpu_vendor cpu_family cpu_model_number cpu_stepping uarch "
                  "cpu_model arch vector_isa isa hypervisor cores threads").split()
COLUMNS = ["schema_version"] + SYSTEM_COLUMNS + (
    "git_revision git_revision_pytorch_side model batch epochs evals_per_epoch optimizer "
    "freeze_spec cache "
    "target_fraction seeds first seeds_reached c_time_to_target_s_median "
    "pytorch_time_to_target_s_median ttt_ratio_median ttt_ratio_min ttt_ratio_max "
    "c_epochs_to_target_median pytorch_epochs_to_target_median epochs_ratio_median "
    "epochs_ratio_min epochs_ratio_max pace_ratio_median pace_ratio_min pace_ratio_max "
    "total_ratio_median total_ratio_min total_ratio_max c_best_accuracy_median "
    "pytorch_best_accuracy_median").split()


def time_to_target(curve, target):
    """Training time at which the curve [(time_s, accuracy)] at the evaluations first
    reaches target, interpolated linearly between the two evaluations around the
    crossing; the first evaluation's time if it is already there; nan if never."""
    prev = None
    for t, acc in curve:
        if acc >= target:
            if prev is None or acc == prev[1]:
                return t
            t0, a0 = prev
            return t0 + (t - t0) * (target - a0) / (acc - a0)
        prev = (t, acc)
    return math.nan


def read_runs(path):
    """A finetune-2 CSV as {(optimizer, spec, cache): [rows in evaluation order]}."""
    runs = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            # A side built before finetune-2 has no evaluation column: say so, not KeyError.
            if r["schema_version"] != SIDE_SCHEMA:
                raise SystemExit(f"finetune_vs_pytorch: {path}: schema "
                                 f"{r['schema_version']}, this reads {SIDE_SCHEMA} (rebuild "
                                 "finetune?)")
            runs.setdefault((r["optimizer"], r["freeze_spec"], int(r["cache"])), []).append(r)
    for rows in runs.values():
        rows.sort(key=lambda r: (int(r["epoch"]), int(r["evaluation"])))
    return runs


def curve(rows):
    return [(float(r["time_s"]), float(r["test_accuracy"])) for r in rows]


def epoch_curve(rows):
    """The curve against epochs instead of seconds (epochs_done: fractional within an
    epoch): time_to_target on it gives the crossing in epochs, by the same rule."""
    return [(float(r["epochs_done"]), float(r["test_accuracy"])) for r in rows]


def pair_ratios(c_runs, py_runs, optimizer, fraction):
    """One pair's rows per (spec, cache): the common target, each side's time to it and
    whole-run time, and their ratios."""
    best = lambda rows: max(a for _, a in curve(rows))
    target = fraction * (best(c_runs[(optimizer, "none", 0)]) +
                         best(py_runs[(optimizer, "none", 0)])) / 2
    out = {}
    for (opt, spec, cache), rows in c_runs.items():
        if opt != optimizer or (opt, spec, 0) not in py_runs:
            continue
        py_rows = py_runs[(opt, spec, 0)]
        c_ttt = time_to_target(curve(rows), target)
        py_ttt = time_to_target(curve(py_rows), target)
        c_ep = time_to_target(epoch_curve(rows), target)
        py_ep = time_to_target(epoch_curve(py_rows), target)
        reached = c_ttt > 0 and c_ep > 0 and py_ep > 0   # False for nan
        out[(spec, cache)] = dict(
            c_ttt=c_ttt, py_ttt=py_ttt, ttt_ratio=py_ttt / c_ttt if c_ttt > 0 else math.nan,
            c_epochs=c_ep, py_epochs=py_ep,
            epochs_ratio=py_ep / c_ep if reached else math.nan,
            pace_ratio=(py_ttt / py_ep) / (c_ttt / c_ep) if reached else math.nan,
            total_ratio=float(py_rows[-1]["time_s"]) / float(rows[-1]["time_s"]),
            c_best=best(rows), py_best=best(py_rows))
    return out


def summarise(per_seed):
    """[{field: value}] of one (optimizer, spec, cache) over the seeds -> the CSV's
    statistics; nan entries (a side that never reached the target) are left out."""
    def stats(key):
        v = [p[key] for p in per_seed if not math.isnan(p[key])]
        return (statistics.median(v), min(v), max(v)) if v else (math.nan,) * 3
    reached = [p for p in per_seed if not math.isnan(p["ttt_ratio"])]
    ttt = stats("ttt_ratio")
    epochs = stats("epochs_ratio")
    pace = stats("pace_ratio")
    total = stats("total_ratio")
    return dict(seeds_reached=len(reached),
                c_time_to_target_s_median=stats("c_ttt")[0],
                pytorch_time_to_target_s_median=stats("py_ttt")[0],
                ttt_ratio_median=ttt[0], ttt_ratio_min=ttt[1], ttt_ratio_max=ttt[2],
                c_epochs_to_target_median=stats("c_epochs")[0],
                pytorch_epochs_to_target_median=stats("py_epochs")[0],
                epochs_ratio_median=epochs[0], epochs_ratio_min=epochs[1],
                epochs_ratio_max=epochs[2],
                pace_ratio_median=pace[0], pace_ratio_min=pace[1], pace_ratio_max=pace[2],
                total_ratio_median=total[0], total_ratio_min=total[1], total_ratio_max=total[2],
                c_best_accuracy_median=stats("c_best")[0],
                pytorch_best_accuracy_median=stats("py_best")[0])


def parse_args(argv):
    ap = argparse.ArgumentParser(description="freezebench's fine-tuning against PyTorch's, "
                                 "interleaved over seeds; see the module docstring.")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--first", choices=("c", "pytorch"), default="c",
                    help="the side that runs first in the first pair (then alternating)")
    ap.add_argument("--optimizer", choices=("adamw", "sgd", "both"), default="both")
    ap.add_argument("--spec", action="append", metavar="S", default=[])
    ap.add_argument("--cache", action="store_true")
    ap.add_argument("--evals-per-epoch", type=int, default=4, metavar="E",
                    help="test evaluations per epoch on both sides (default 4)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--target-fraction", type=float, default=0.95)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--blas-own-choice", action="store_true")
    ap.add_argument("--output", metavar="PATH")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--no-csv", action="store_true")
    ap.add_argument("--allow-dirty", action="store_true")
    ap.add_argument("--keep", metavar="DIR")
    ap.add_argument("--finetune", default=os.path.join(BUILD, "finetune"))
    ap.add_argument("--freeze-sweep", default=os.path.join(BUILD, "freeze_sweep"))
    a = ap.parse_args(argv)
    if a.seeds < 1 or a.threads < 0:
        ap.error("--seeds must be at least 1, --threads 0 or more")
    # At most the steps per epoch, too: the sides know those and refuse (exit 2) beyond.
    if a.evals_per_epoch < 1:
        ap.error(f"--evals-per-epoch {a.evals_per_epoch}: at least 1")
    if not 0 < a.target_fraction <= 1:
        ap.error("--target-fraction: a number in (0, 1]")
    if a.output and a.no_csv:
        ap.error("--output and --no-csv exclude each other")
    return a


def side_command(a, side, seed, optimizer, out):
    common = ["--seed", str(seed), "--optimizer", optimizer, "--threads", str(a.threads),
              "--target-fraction", str(a.target_fraction),
              "--evals-per-epoch", str(a.evals_per_epoch), "--output", out, "--overwrite",
              # The pair's files are scratch; the published CSV is this program's, which
              # refuses a dirty build itself (below).
              "--allow-dirty"]
    common += [x for s in a.spec for x in ("--spec", s)]
    common += ["--quick"] if a.quick else []
    if side == "c":
        return [a.finetune] + common + (["--cache"] if a.cache else [])
    return ([sys.executable, os.path.join(HERE, "pytorch_finetune.py")] + common +
            ["--freeze-sweep", a.freeze_sweep] + (["--blas-own-choice"] if a.blas_own_choice else []))


def run_side(cmd, side):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode == 77:   # torch or the data missing: a visible SKIP, not a failure
        sys.stderr.write(p.stderr)
        raise SystemExit(77)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"finetune_vs_pytorch: the {side} side failed (exit {p.returncode}): "
                         f"{' '.join(cmd)}")


def main(argv):
    a = parse_args(argv)
    optimizers = ["adamw", "sgd"] if a.optimizer == "both" else [a.optimizer]
    scratch = tempfile.TemporaryDirectory(prefix="finetune_vs_pytorch-")
    keep = a.keep or scratch.name
    os.makedirs(keep, exist_ok=True)
    results = {}   # (optimizer, spec, cache) -> [pair rows]
    c_first = a.first == "c"
    info = {}
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        for optimizer in optimizers:
            paths = {s: os.path.join(keep, f"{s}-{optimizer}-seed{seed}.csv") for s in ("c", "pytorch")}
            order = ("c", "pytorch") if c_first else ("pytorch", "c")
            for side in order:
                print(f"seed {seed} {optimizer}: {side}", file=sys.stderr, flush=True)
                run_side(side_command(a, side, seed, optimizer, paths[side]), side)
            c_first = not c_first
            c_runs, py_runs = read_runs(paths["c"]), read_runs(paths["pytorch"])
            info.setdefault("c", next(iter(c_runs.values()))[0])
            info.setdefault("py", next(iter(py_runs.values()))[0])
            # Every pair runs finetune's --epochs; spec none's rows name them (E rows
            # an epoch, so the last epoch, not the row count).
            info.setdefault("epochs", max(int(r["epoch"])
                                          for r in c_runs[(optimizer, "none", 0)]))
            for (spec, cache), row in pair_ratios(c_runs, py_runs, optimizer,
                                                  a.target_fraction).items():
                results.setdefault((optimizer, spec, cache), []).append(row)

    c, py = info["c"], info["py"]
    rows = []
    for (optimizer, spec, cache), per_seed in results.items():
        row = {k: c[k] for k in SYSTEM_COLUMNS}
        row.update(schema_version=SCHEMA, git_revision=c["git_revision"],
                   git_revision_pytorch_side=py["git_revision"], model=c["model"],
                   batch=c["batch"], epochs=info["epochs"],
                   evals_per_epoch=a.evals_per_epoch,
                   optimizer=optimizer, freeze_spec=spec, cache=cache,
                   target_fraction=a.target_fraction, seeds=len(per_seed), first=a.first)
        row.update(summarise(per_seed))
        rows.append(row)

    print(f"{'optimizer':9} {'spec':10} {'cache':5} {'reached':7} {'ttt ratio [min-max]':24} "
          f"{'= pace [min-max]':20} {'x epochs [min-max]':20} {'whole-run ratio [min-max]':24}")
    for r in rows:
        print(f"{r['optimizer']:9} {r['freeze_spec']:10} {r['cache']:<5} "
              f"{r['seeds_reached']}/{r['seeds']:<5} "
              f"{fmt(r, 'ttt_ratio'):24} {fmt(r, 'pace_ratio'):20} "
              f"{fmt(r, 'epochs_ratio'):20} {fmt(r, 'total_ratio'):24}")
    print(f"ratios: PyTorch's over freezebench's, per seed (median [min-max]); target "
          f"{a.target_fraction} x the mean of both sides' best unfrozen accuracy per seed; "
          f"ttt = pace (seconds per epoch up to the target) x epochs (epochs needed to "
          f"reach it), crossings interpolated between {a.evals_per_epoch} evaluation(s) an "
          f"epoch; {a.seeds} seed(s), first {a.first}, alternating")
    if a.no_csv:
        return 0
    dirty = [g for g in (c["git_revision"], py["git_revision"]) if g.endswith("-dirty")]
    if dirty and not a.allow_dirty:
        raise SystemExit("finetune_vs_pytorch: built from a tree with uncommitted changes "
                         f"({dirty[0]}); commit first or pass --allow-dirty")
    write_csv(a, c, rows)
    return 0


def fmt(r, key):
    m, lo, hi = r[key + "_median"], r[key + "_min"], r[key + "_max"]
    return "-" if math.isnan(m) else f"{m:.2f} [{lo:.2f}-{hi:.2f}]"


def write_csv(a, c, rows):
    path = a.output or os.path.join(HERE, os.pardir, "results",
                                    f"finetune-vs-pytorch-{c['system_id']}-{c['threads']}.csv")
    if os.path.exists(path) and not a.overwrite:
        raise SystemExit(f"finetune_vs_pytorch: {path} exists; --overwrite replaces it")
    tmp = path + ".part"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else
                            repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    os.replace(tmp, path)   # whole-file write: a reader never sees half a CSV
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
