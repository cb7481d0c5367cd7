#!/usr/bin/python3
"""The freeze sweep in PyTorch, written in the results CSV schema (bench/results/results.c and
results/README.md) with impl = pytorch, so results/ compares freezebench and PyTorch side
by side.  The schema's columns and the system description come from the C side
(`freeze_sweep --machine`, JSON), so both programs describe one machine identically.

usage: /usr/bin/python3 bench/pytorch_sweep.py [--model M[@B]]... [--batch B[,B..]]
           [--threads T[,T..]] [--spec S]... [--repetitions N] [--min-time S]
           [--momentum M] [--weight-decay W] [--machine-from FILE.csv] [--blas-own-choice]
           [--freeze-sweep PATH] [--output PATH [--overwrite] | --no-csv] [--allow-dirty]
       /usr/bin/python3 bench/pytorch_sweep.py --list [--model M[@B]]... [--spec S]...

The options are build/bench/freeze_sweep's, with the same meanings and defaults:
  --model M[@B]     widths: items W or WxR, comma-separated (10,5,1  1024x9  784,1024x3,10);
                    @B its batch (default 64); repeatable.  The text before @ is the
                    CSV's `model`, as in the C sweep.
  --batch B[,B..]   batch sizes for every model (replaces each model's own)
  --threads T[,T..] thread counts (0 = all cores)
  --spec S          a freeze spec: none, prefix:K, last, bitfit, globs like fc4.*, or a
                    comma-separated list of those; repeatable.  `none` is always measured
                    (every cut is against it).
  --repetitions N   interleaved repetitions per configuration (default 30, as
                    freeze_sweep's)
  --min-time S      seconds per repetition at least (default 0.05)
  --output PATH     CSV path (default results/pytorch-<system>-<threads>.csv; an existing
                    default file is never replaced: a new file with the time in its name
                    is written instead, -2, -3, ... after the time where that exists too;
                    an existing --output is refused without --overwrite, also when it
                    appears while measuring (the rows then go to a dated name beside
                    it); directories, symlinks, FIFOs and devices are refused)
  --no-csv          print the table, write no CSV
  --allow-dirty     write the CSV even when scripts/git-revision.sh reports a '-dirty'
                    checkout (changed code that no commit names); without it such a run
                    is refused before it measures (exit 2): a published number must name
                    the code that made it.  The rows' git_revision then ends in -dirty.
  --list            print the configurations it would measure, MODEL/batch:B/SPEC one a
                    line (freeze_sweep --benchmark_list_tests' names without the
                    threads), and exit 0: nothing measured, no torch needed
  --freeze-sweep P  the built freeze_sweep that describes the machine (default
                    build/bench/freeze_sweep beside this script)
  --blas-own-choice run the measuring children and `freeze_sweep --machine` with
                    OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from their environment,
                    so OpenBLAS (which Debian's torch uses) picks its own core; the CSV's
                    openblas_core column records the one it picks.  Without it they keep
                    this process's environment: some machines set OPENBLAS_CORETYPE=Haswell,
                    which pins OpenBLAS to a 256-bit kernel on CPUs with AVX-512.  This
                    process's own environment, and so every test, is left as it is.
Without --model/--threads: 10,5,1@64 and 1024x9@256, 1 thread and all cores.  Without
--spec each model gets the default specs fitted to its depth, as freeze_sweep's
(bench/sweep/sweep_args.c fzb_default_specs): none, frozen prefixes at a quarter, half
and three quarters of the layers and all but the last, with 4 layers or more the middle
layer alone and `last`, and bitfit; for 1024x9 none, prefix:2, prefix:4, prefix:6, prefix:7, fc4.*,
last, bitfit, for 10,5,1 none, prefix:1, bitfit.  A --spec that does not fit a model
(prefix:K deeper than it, a glob naming none of its parameters) or that freezes every
parameter is skipped for that model, said so on stderr; a --spec that fits no model is an
error.  Bad options and a dirty checkout (see --allow-dirty) exit with status 2 before any
work starts.

Each thread count runs in a fresh child process with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
and MKL_NUM_THREADS set before torch is imported (the BLAS thread pools read them once)
and torch.set_num_threads(N), and with OMP_WAIT_POLICY=PASSIVE unless the caller set it:
Debian's torch runs its OpenMP pool beside the pthread OpenBLAS, and with both pools
spinning for work on the same cores a 2-thread 8x1024 step took 225-242 ms here against
86-111 ms passive (and 149-154 ms on one thread).  Like Google Benchmark in the C sweep,
a repetition runs enough steps to last --min-time and records the mean step; the
repetitions of all configurations of a thread count are interleaved.  Each step, timed
with time.perf_counter:
    forward = model + MSELoss;  backward = loss.backward();  optimizer = optimizer.step();
    step = zero_grad(set_to_none=True) and the three, timed as one.
zero_grad(set_to_none=True) is PyTorch>=2's default and how most training loops now run
(Debian 12's torch 1.13 still defaults to False): every step frees the gradients and the
backward allocates them again, which the step time includes.  bench/step_vs_pytorch.py
--zero-grad both measures it against set_to_none=False.
SGD as in the C sweep: lr 1e-4, momentum 0.9, weight decay 0 (--momentum, --weight-decay).

How the columns are filled where PyTorch differs from freezebench:
    isa, compiler     PyTorch's CPU capability (e.g. avx2); "pytorch <version>" with the
                      compiler it was built with and the BLAS it loads;
    flops_planned     ../DESIGN.md's analytic count from the backward plan (autograd does the
                      same work for these requires_grad flags; tests/sweep_flops_check.py
                      holds it equal to the library's plan), dgrad/wgrad parts in the
                      backward and step rows, 0 in the others;
    *_executed        = planned, as for the other reference implementations (openblas,
                      blis): PyTorch counts no FLOPs, and gflops and fraction_of_peak are
                      computed from these;
    bytes             optimizer row: 20 B per trainable parameter with momentum (reads
                      p, g, buf, writes p, buf: what the C sweep writes), 12 without;
    peak_gflops, bandwidth_gbytes_per_s
                      taken from --machine-from, a freeze_sweep or kernel_bench CSV of the
                      same CPU (this script has no probes); without it "NA", and so is
                      fraction_of_peak;
    activation_bytes  bytes of the distinct non-parameter tensors autograd saved for the
                      backward (torch.autograd.graph.saved_tensors_hooks), which includes
                      the MSE loss's saved prediction and target.
The repetitions' times (schema 4): time_samples_s lists every repetition's mean step
(per phase) in the order they ran; time_median_ci_low_s/high_s are results/stats.py's
median_ci of them and time_cut_ci_low/high its cut_ci against the `none` row of the same
model, batch, threads and phase (0 and 0 in the `none` row itself, as freeze_sweep writes):
empty with fewer than 6 repetitions, and the cut's also where time_cut is.
Missing values follow results/README.md: an empty field means "does not apply" (a cut
whose `none` value is 0), never "unknown"; a value this script cannot know is "NA".

Exit status: 0 written, 1 a failure, 2 a bad option, 77 torch missing (meson's SKIP).
"""
import argparse
import csv
import datetime
import io
import json
import math
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                "results"))
import runs  # noqa: E402  (results/runs.py: write_whole)
import stats  # noqa: E402  (results/stats.py: the repetitions' intervals)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sweep_setup import (  # noqa: E402,F401  (the machine, models, specs, FLOPs)
    MAX_WIDTHS, NA, blas_env, describe_machine, git_revision, torch_build,
    machine_limits, parse_model, default_specs, check_spec, frozen_names, fit,
    planned_flops, OPENBLAS_CORE_VARS)

PHASES = ["forward", "backward", "optimizer", "step"]
DEFAULT_MODELS = ["10,5,1@64", "1024x9@256"]
LR = 1e-4                 # the C sweep's fz_sgd


def num(v):
    """A number as bench/results/results.c writes it: integers exactly, others with 17
    significant digits; NaN (does not apply) as an empty field."""
    if isinstance(v, str):
        return v
    if math.isnan(v):
        return ""
    if v == math.floor(v) and abs(v) < 1e15:
        return f"{v:.0f}"
    return f"{v:.17g}"


# ---- one thread count, in its own process ----------------------------------------------

class Config:
    """One model at one batch under one freeze spec; the model is shared by the specs."""

    def __init__(self, shared, spec, frozen):
        self.shared, self.spec, self.frozen = shared, spec, frozen
        self.iters = 0                       # steps per repetition, set on the first one
        self.reps = []                       # per repetition: mean s per phase
        self.activation_bytes = 0


def measure(job):
    import torch
    from torch import nn
    threads = job["threads"]
    torch.set_num_threads(threads)

    def make_model(widths, batch):
        torch.manual_seed(0)
        L = len(widths) - 1
        layers = nn.ModuleDict({f"fc{i + 1}": nn.Linear(widths[i], widths[i + 1])
                                for i in range(L)})

        def forward(x):
            for i in range(L):
                x = layers[f"fc{i + 1}"](x)
                if i + 1 < L:
                    x = torch.relu(x)
            return x
        return dict(widths=widths, params=dict(layers.named_parameters()), forward=forward,
                    x=torch.randn(batch, widths[0]), y=torch.randn(batch, widths[-1]))

    configs = []
    for name, widths, batch, specs in job["models"]:
        shared = make_model(widths, batch)
        shared.update(name=name, batch=batch, current=None)
        for spec in specs:
            frozen, _ = fit(spec, widths)
            if frozen is not None:
                configs.append(Config(shared, spec, frozen))
    loss_fn = nn.MSELoss()

    def one_step(c, opt, record=None):
        s = c.shared
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        t1 = time.perf_counter()
        if record is None:
            loss = loss_fn(s["forward"](s["x"]), s["y"])
        else:
            with torch.autograd.graph.saved_tensors_hooks(record, lambda t: t):
                loss = loss_fn(s["forward"](s["x"]), s["y"])
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        return t2 - t1, t3 - t2, t4 - t3, t4 - t0

    def prepare(c):
        """Flags as the configuration wants them and a fresh optimizer, then one untimed
        step (the C sweep's prepare), which also records the saved activations."""
        s = c.shared
        for n, p in s["params"].items():
            p.requires_grad = n not in c.frozen
            p.grad = None
        opt = torch.optim.SGD([p for p in s["params"].values() if p.requires_grad], lr=LR,
                              momentum=job["momentum"], weight_decay=job["weight_decay"])
        param_ptrs = {p.data_ptr() for p in s["params"].values()}
        saved = {}

        def record(t):
            if t.data_ptr() not in param_ptrs:
                saved[t.data_ptr()] = t.numel() * t.element_size()
            return t
        one_step(c, opt, record)
        c.activation_bytes = sum(saved.values())
        s["current"] = c
        return opt

    opts = {}
    for _ in range(job["repetitions"]):
        for c in configs:
            if c.shared["current"] is not c:
                opts[id(c)] = prepare(c)
            opt = opts[id(c)]
            if not c.iters:   # as Google Benchmark: grow the count until min_time is reached
                c.iters = 1
                while True:
                    t = time.perf_counter()
                    for _ in range(c.iters):
                        one_step(c, opt)
                    took = time.perf_counter() - t
                    if took >= job["min_time"] or c.iters >= 1 << 20:
                        break
                    c.iters = min(c.iters * 10, max(c.iters + 1, math.ceil(
                        c.iters * 1.4 * job["min_time"] / max(took, 1e-9))))
            sums = [0.0] * 4
            for _ in range(c.iters):
                sums = [a + b for a, b in zip(sums, one_step(c, opt))]
            c.reps.append([v / c.iters for v in sums])
    return [config_rows(job, c) for c in configs]


def config_rows(job, c):
    """The four phase rows of one configuration, cuts still to come."""
    s = c.shared
    flops = planned_flops(s["widths"], s["batch"], c.frozen, job["momentum"],
                          job["weight_decay"])
    trainable = sum(p.numel() for n, p in s["params"].items() if n not in c.frozen)
    frozen = sum(p.numel() for n, p in s["params"].items() if n in c.frozen)
    rows = []
    for i, phase in enumerate(PHASES):
        samples = [r[i] for r in c.reps]          # in the order the repetitions ran
        split = phase in ("backward", "step")
        rows.append(dict(model=s["name"], batch=s["batch"], freeze_spec=c.spec,
                         trainable=trainable, frozen=frozen, phase=phase,
                         flops=flops[phase], dgrad=flops["dgrad"] if split else 0,
                         wgrad=flops["wgrad"] if split else 0, samples=samples,
                         activation_bytes=c.activation_bytes))
    return rows


# ---- rows in the schema --------------------------------------------------------------------

# Schema 4's columns of the repetitions' times.  A freeze_sweep of schema 3 does not list
# them, and csv_rows leaves them out of its rows then.
SAMPLE_COLUMNS = ("time_median_ci_low_s", "time_median_ci_high_s", "time_samples_s",
                  "time_cut_ci_low", "time_cut_ci_high")


def interval(ci):
    """An interval's ends as CSV values: NaN (an empty field) where there is none."""
    lo, hi = ci if ci else (None, None)
    return (math.nan if lo is None else lo), (math.nan if hi is None else hi)


def csv_rows(measured, machine, limits, momentum, columns=None):
    """Every phase row of every configuration as the schema's fields (`columns`, the C
    side's list: every one must be filled, and schema-4 columns it lacks are left out),
    cuts against `none` of the same model, batch, threads and phase."""
    none = {(m["model"], m["batch"], m["threads"], m["phase"]): m
            for m in measured if m["freeze_spec"] == "none"}
    peak_per_core, bandwidth, peak_isa = limits
    out = []
    for m in measured:
        b = none[(m["model"], m["batch"], m["threads"], m["phase"])]
        cut = lambda x, x_none: 1 - x / x_none if x_none > 0 else math.nan
        xs = m["samples"]
        m = dict(m, tmin=min(xs), tmed=stats.median(xs), tmax=max(xs), reps=len(xs))
        b_med = stats.median(b["samples"])
        # The cut's interval: both sides' repetitions resampled (stats.cut_ci), where the
        # cut itself exists (`none` above 0); its ends are None with < 6 samples a side.
        # `none` against itself is a cut of exactly 0, not an interval around it (as the
        # C sweep writes it).
        if m["freeze_spec"] == "none":
            cut_lo, cut_hi = (0.0, 0.0) if len(xs) >= stats.MIN_SAMPLES else (math.nan,) * 2
        elif b_med > 0:
            cut_lo, cut_hi = interval(stats.cut_ci(xs, b["samples"])[1:])
        else:
            cut_lo, cut_hi = math.nan, math.nan
        ci_lo, ci_hi = interval(stats.median_ci(xs))
        gflops = m["flops"] / m["tmed"] * 1e-9
        memory_bound = m["phase"] == "optimizer"
        # SGD reads p and g and writes p; momentum adds reading and writing its buffer.
        nbytes = (20 if momentum else 12) * m["trainable"] if memory_bound else 0
        gbs = nbytes / m["tmed"] * 1e-9 if nbytes else 0
        peak = peak_per_core * m["threads"] if peak_per_core is not None else NA
        if peak_per_core is None:
            fraction = NA
        else:
            fraction = gbs / bandwidth if memory_bound else gflops / peak
        # PyTorch leaves its threads where the OS puts them: never bound.
        values = dict(machine, threads=m["threads"], bound=0, bench="freeze_sweep",
                      impl="pytorch",
                      model=m["model"], batch=m["batch"], freeze_spec=m["freeze_spec"],
                      trainable_params=m["trainable"], frozen_params=m["frozen"],
                      phase=m["phase"], flops_planned=m["flops"], flops_executed=m["flops"],
                      dgrad_flops_planned=m["dgrad"], dgrad_flops_executed=m["dgrad"],
                      wgrad_flops_planned=m["wgrad"], wgrad_flops_executed=m["wgrad"],
                      time_min_s=m["tmin"], time_median_s=m["tmed"], time_max_s=m["tmax"],
                      repetitions=m["reps"], time_median_ci_low_s=ci_lo,
                      time_median_ci_high_s=ci_hi, time_samples_s=stats.format_samples(xs),
                      gflops=gflops, bytes=nbytes, gbytes_per_s=gbs,
                      peak_gflops=peak, peak_isa=peak_isa,
                      bandwidth_gbytes_per_s=bandwidth if bandwidth is not None else NA,
                      fraction_of_peak=fraction, flop_cut=cut(m["flops"], b["flops"]),
                      time_cut=cut(m["tmed"], b_med), time_cut_ci_low=cut_lo,
                      time_cut_ci_high=cut_hi,
                      activation_bytes=m["activation_bytes"],
                      # the step rows use no frozen-prefix cache (schema 3)
                      cache_bytes=0,
                      # one process: no allreduce (schema 3's data-parallel columns)
                      ranks=1, allreduce_bytes_planned=0, allreduce_bytes_executed=0,
                      comm_time_s=0, comm_hidden_s=0)
        if columns is not None:
            missing = [c for c in columns if c not in values]
            if missing:
                raise ValueError(f"freeze_sweep's schema has columns this script does not "
                                 f"fill: {', '.join(missing)}")
            values = {k: v for k, v in values.items()
                      if k in columns or k not in SAMPLE_COLUMNS}
        out.append({k: num(float(v)) if isinstance(v, int) else num(v)
                    for k, v in values.items()})
    return out


def check_output(path, overwrite):
    """The C side's rules (bench/results/publish.h): a regular file or nothing, a directory
    that takes files, and no existing file replaced unless asked.  Checked before
    measuring."""
    if os.path.lexists(path) and not os.path.isfile(path) or os.path.islink(path):
        return f"'{path}' is not a regular file; results are written only to regular files"
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d) or not os.access(d, os.W_OK | os.X_OK):
        return f"'{path}': cannot write into directory '{d}'"
    if len(os.path.basename(path).encode()) > 200:
        return f"'{path}': the file name is longer than 200 bytes"
    if os.path.exists(path) and not overwrite:
        return f"{path} exists; --overwrite replaces it"
    return None


def free_name(path):
    """`path`, or where it exists `<stem>-<UTC time>.csv` beside it, with -2, -3, ...
    after the time where that exists too (runs a second apart share the time), as
    bench/results/publish.c names the C programs' files: an existing file is never the
    answer."""
    if not os.path.lexists(path):
        return path
    stem = path[:-4] if path.endswith(".csv") else path
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name, k = f"{stem}-{stamp}.csv", 2
    while os.path.lexists(name):
        name, k = f"{stem}-{stamp}-{k}.csv", k + 1
    return name


def write_csv(rows, path, columns, replace=False):
    """Whole or not at all (results/runs.py's write_whole: a temporary file in the same
    directory, flushed to disk, then put in place), CRLF line ends (RFC 4180), as
    bench/results/csv.c writes.  An existing `path` is replaced only with `replace`
    (--overwrite), also one that appeared while this run measured.  runs.WriteError on
    failure (`exists` set where `path` exists and `replace` is not given), `path` then
    as it was."""
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=columns, lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    data = text.getvalue().encode()
    runs.write_whole(path, lambda f: f.write(data), replace=replace)


def scaled(value, unit, prefixes):
    """3 significant digits in the largest unit the value reaches: 8.51 kFLOP, 57.1 µs, as
    the C sweep's table prints (bench/cli/units.c)."""
    if math.isnan(value):
        return "-"
    for factor, prefix in prefixes:
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    factor, prefix = prefixes[-1]
    return f"{value / factor:.3g} {prefix}{unit}"


FLOP_PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")]
TIME_PREFIXES = [(1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")]


def print_table(rows):
    by = {(r["model"], r["batch"], r["threads"], r["freeze_spec"], r["phase"]): r for r in rows}
    groups = []
    for r in rows:
        if (r["model"], r["batch"], r["threads"]) not in groups:
            groups.append((r["model"], r["batch"], r["threads"]))
    f = lambda v: float(v) if v not in ("", NA) else math.nan
    pct = lambda v: "-" if math.isnan(f(v)) else f"{f(v) * 100:.1f}%"
    # The step's cut with its 95% interval where the schema has one (schema 4).
    opt = lambda v: None if math.isnan(f(v)) else f(v)
    cut_ci = lambda r: "-" if math.isnan(f(r["time_cut"])) else stats.fmt_interval(
        f(r["time_cut"]), opt(r.get("time_cut_ci_low", "")),
        opt(r.get("time_cut_ci_high", "")), percent=True)
    for model, batch, threads in groups:
        print(f"\nmodel {model}, batch {batch}, {threads} thread(s), PyTorch (medians of "
              f"the repetitions, [ ]: 95% intervals; cut = 1 - x/x_none)")
        print(f"{'spec':<14} {'bwd FLOP':>11} {'FLOP cut':>9} {'bwd time':>10} {'time cut':>9} "
              f"{'step':>10} {'step 95% interval':>21} {'step cut':>22}")
        for r in rows:
            if (r["model"], r["batch"], r["threads"], r["phase"]) != (model, batch, threads,
                                                                         "backward"):
                continue
            s = by[(model, batch, threads, r["freeze_spec"], "step")]
            # The median's exact interval (schema 4); a binary of schema 3 has none.
            lo, hi = f(s.get("time_median_ci_low_s", "")), f(s.get("time_median_ci_high_s", ""))
            span = ("[n/a]" if math.isnan(lo) or math.isnan(hi) else
                    f"[{scaled(lo, 's', TIME_PREFIXES)}-{scaled(hi, 's', TIME_PREFIXES)}]")
            print(f"{r['freeze_spec']:<14} "
                  f"{scaled(f(r['flops_planned']), 'FLOP', FLOP_PREFIXES):>11} "
                  f"{pct(r['flop_cut']):>9} "
                  f"{scaled(f(r['time_median_s']), 's', TIME_PREFIXES):>10} "
                  f"{pct(r['time_cut']):>9} "
                  f"{scaled(f(s['time_median_s']), 's', TIME_PREFIXES):>10} {span:>21} "
                  f"{cut_ci(s):>22}")


# ---- driver ------------------------------------------------------------------------------

def number_list(text, lo, hi):
    if not re.fullmatch(r"[0-9]+(,[0-9]+)*", text) or \
            not all(lo <= int(v) <= hi for v in text.split(",")):
        raise argparse.ArgumentTypeError(f"'{text}': expected a comma-separated list of "
                                         f"whole numbers from {lo} to {hi}")
    return [int(v) for v in text.split(",")]


def one_number(text, lo, hi):
    if "," in text:
        raise argparse.ArgumentTypeError(f"'{text}': expected one whole number")
    return number_list(text, lo, hi)[0]


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="The freeze sweep in PyTorch, in freeze_sweep's CSV schema.  Each "
                    "timed step is optimizer.zero_grad(set_to_none=True) (PyTorch>=2's "
                    "default; Debian 12's torch 1.13 defaults to False), forward, MSE "
                    "loss, backward and optimizer.step(): the gradients are freed and "
                    "allocated again every step, as in most training loops.",
        epilog="Options and defaults as build/bench/freeze_sweep's; without --spec each "
               "model gets freeze_sweep's default specs for its depth.  See the module "
               "docstring for how each CSV column is filled.")
    ap.add_argument("--model", action="append", metavar="M[@B]",
                    help="widths, items W or WxR comma-separated (10,5,1  1024x9); @B its "
                         "batch (default 64); repeatable")
    ap.add_argument("--batch", type=lambda t: number_list(t, 1, 1 << 20), metavar="B[,B..]",
                    help="batch sizes for every model")
    ap.add_argument("--threads", type=lambda t: number_list(t, 0, 256), default=[1, 0],
                    metavar="T[,T..]", help="thread counts (0 = all cores; default 1,0)")
    ap.add_argument("--spec", action="append", metavar="S",
                    help="a freeze spec (none, prefix:K, last, bitfit, fc4.*, ...); repeatable")
    ap.add_argument("--repetitions", type=lambda t: one_number(t, 1, 1000), default=30,
                    metavar="N", help="interleaved repetitions per configuration (default 30)")
    ap.add_argument("--min-time", type=float, default=0.05, metavar="S",
                    help="seconds per repetition at least (default 0.05)")
    ap.add_argument("--momentum", type=float, default=0.9, metavar="M",
                    help="SGD momentum (default 0.9, as the C sweep)")
    ap.add_argument("--weight-decay", type=float, default=0.0, metavar="W",
                    help="SGD weight decay (default 0, as the C sweep)")
    ap.add_argument("--machine-from", metavar="FILE.csv",
                    help="take peak_gflops and bandwidth_gbytes_per_s from this "
                         "freeze_sweep/kernel_bench CSV of the same CPU (else NA)")
    ap.add_argument("--output", metavar="PATH",
                    help="CSV path (default results/pytorch-<system>-<threads>.csv; an "
                         "existing default file is kept and a dated name used instead)")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace an existing --output file")
    ap.add_argument("--freeze-sweep", metavar="PATH",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         os.pardir, "build", "bench", "freeze_sweep"),
                    help="the built freeze_sweep, which describes this machine (default "
                         "build/bench/freeze_sweep)")
    ap.add_argument("--blas-own-choice", action="store_true",
                    help="run the measurements (and the machine query) without "
                         "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so OpenBLAS picks its own "
                         "core; the CSV's openblas_core records it")
    ap.add_argument("--no-csv", action="store_true", help="print the table, write no CSV")
    ap.add_argument("--allow-dirty", action="store_true",
                    help="write the CSV even from a checkout whose scripts/git-revision.sh "
                         "revision ends in -dirty (refused without it, exit 2, before "
                         "measuring: a published number must name the code that made it)")
    ap.add_argument("--list", action="store_true",
                    help="print the configurations (MODEL/batch:B/SPEC), measure nothing")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not 0 < args.min_time <= 60:
        ap.error(f"--min-time {args.min_time}: expected seconds, more than 0 and at most 60")
    # The specs: the --spec list for every model (none first: every cut is against it),
    # or without --spec each model's own defaults, fitted to its depth as freeze_sweep's.
    given = ["none"] + [s for s in args.spec if s != "none"] if args.spec else None
    for s in given or []:
        try:
            check_spec(s)
        except ValueError as e:
            ap.error(f"--spec '{s}': {e}")
    models = []   # (name, widths, batch, specs)
    for text in args.model or DEFAULT_MODELS:
        try:
            name, widths, batch = parse_model(text)
        except ValueError as e:
            ap.error(f"--model '{text}': {e}")
        specs = given or default_specs(len(widths) - 1)
        models += [(name, widths, b, specs) for b in (args.batch or [batch])]
    for s in given or []:
        if not any(fit(s, w)[0] is not None for _, w, _, _ in models):
            ap.error(f"--spec '{s}': fits none of the models (a prefix deeper than every "
                     f"model, or a glob naming no parameter)")
    args.models = models
    return args


def refuse_dirty(revision, args):
    """Why this run must not write its CSV (None if it may): a '-dirty' revision names a
    commit that is not the code that ran, so the file's numbers could never be traced to
    their code.  --allow-dirty writes it anyway (its git_revision column says -dirty);
    --no-csv writes none, so there is nothing to refuse."""
    if args.no_csv or args.allow_dirty or not revision.endswith("-dirty"):
        return None
    return (f"the checkout is dirty (scripts/git-revision.sh: {revision}): code outside "
            f"results/ differs from the commit it names, and a published number must name "
            f"the code that made it.  Commit the changes first, or pass --allow-dirty to "
            f"write the CSV anyway (its git_revision column then says {revision}), or "
            f"--no-csv to measure without writing one")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:   # what measure() would run, in its order: every spec that fits
        for name, widths, batch, specs in args.models:
            for spec in specs:
                if fit(spec, widths)[0] is not None:
                    print(f"{name}/batch:{batch}/{spec}")
        return 0
    if args.child:
        json.dump([r for rows in measure(json.loads(args.child)) for r in rows], sys.stdout)
        return 0
    # Before anything is measured, or even described: a refused run costs nothing.
    revision = git_revision()
    why = refuse_dirty(revision, args)
    if why:
        print(f"pytorch_sweep: refusing to write a CSV: {why}", file=sys.stderr)
        return 2
    if revision.endswith("-dirty") and not args.no_csv:
        print(f"pytorch_sweep: --allow-dirty: the CSV's rows will name revision {revision}, "
              f"a dirty checkout", file=sys.stderr)
    try:
        import torch
    except ImportError as e:
        print(f"SKIP: cannot import torch ({e}); install python3-torch", file=sys.stderr)
        return 77

    base_env = blas_env(args.blas_own_choice)
    removed = [f"{v}={os.environ[v]}" for v in OPENBLAS_CORE_VARS
               if args.blas_own_choice and v in os.environ]
    if removed:
        print(f"pytorch_sweep: --blas-own-choice: measuring without {', '.join(removed)}",
              file=sys.stderr)
    try:
        described = describe_machine(args.freeze_sweep, base_env)
    except (OSError, ValueError) as e:
        print(f"pytorch_sweep: cannot describe this machine: {e}; build freeze_sweep "
              f"(ninja -C build) or pass --freeze-sweep", file=sys.stderr)
        return 2
    columns, system = described["columns"], described["machine"]
    limits = (None, None, NA)
    if args.machine_from:
        try:
            limits = machine_limits(args.machine_from, system["system_id"])
        except (OSError, ValueError) as e:
            print(f"pytorch_sweep: --machine-from '{args.machine_from}': {e}", file=sys.stderr)
            return 2
    cores = int(system["cores"])
    thread_counts = list(dict.fromkeys(t or cores for t in args.threads))
    isa, compiler = torch_build(torch)
    machine = {c: system[c] for c in columns if c in system}
    machine.update(schema_version=described["schema_version"],
                   utc_time=datetime.datetime.now(datetime.timezone.utc)
                   .strftime("%Y-%m-%dT%H:%M:%SZ"),
                   isa=isa, compiler=compiler, git_revision=revision)
    output = None
    if not args.no_csv:
        threads_text = "_".join(map(str, thread_counts))
        output = args.output or os.path.join(
            "results", f"pytorch-{system['system_id']}-{threads_text}.csv")
        if not args.output and os.path.lexists(output):
            dated = free_name(output)
            print(f"pytorch_sweep: {output} exists (results already published for this "
                  f"system); this run writes {dated}", file=sys.stderr)
            output = dated
        why = check_output(output, args.overwrite)
        if why:
            print(f"pytorch_sweep: --output: {why}", file=sys.stderr)
            return 2
    for name, widths, _, specs in args.models:
        for s in specs:
            why = fit(s, widths)[1]
            if why:
                print(f"pytorch_sweep: skipping spec '{s}' on model {name}: {why}",
                      file=sys.stderr)

    measured = []
    for n in thread_counts:
        job = dict(threads=n, models=args.models,
                   repetitions=args.repetitions, min_time=args.min_time,
                   momentum=args.momentum, weight_decay=args.weight_decay)
        env = dict(base_env, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n),
                   MKL_NUM_THREADS=str(n))
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # see the docstring
        run = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                              json.dumps(job)], env=env, stdout=subprocess.PIPE)
        if run.returncode != 0:
            print(f"pytorch_sweep: the {n}-thread run failed", file=sys.stderr)
            return 1
        measured += [dict(m, threads=n) for m in json.loads(run.stdout)]

    try:
        rows = csv_rows(measured, machine, limits, args.momentum, columns)
    except ValueError as e:
        print(f"pytorch_sweep: {e}", file=sys.stderr)
        return 1
    print_table(rows)
    if output is None:
        return 0
    status = 0
    try:
        try:
            write_csv(rows, output, columns, replace=args.overwrite)
        except runs.WriteError as e:
            if not e.exists:
                raise
            # Written by another run while this one measured: never replaced.  The rows
            # go to a free name beside it; an --output the user named was not honoured.
            taken, output = output, free_name(output)
            print(f"pytorch_sweep: {taken} appeared while measuring and is kept; this run "
                  f"writes {output}", file=sys.stderr)
            status = 1 if args.output else 0
            write_csv(rows, output, columns)
    except runs.WriteError as e:
        print(f"pytorch_sweep: cannot write {e.path}: {e.reason} (nothing written, an "
              "existing file unchanged)", file=sys.stderr)
        return 1
    print(f"pytorch_sweep: wrote {output}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
