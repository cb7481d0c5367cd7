#!/usr/bin/python3
"""freezebench's training step against PyTorch's, side by side in one process.

usage: /usr/bin/python3 bench/step_vs_pytorch.py [--model M[@B]] [--spec S]...
           [--rounds N] [--steps K] [--threads T] [--zero-grad none|zero|both]
           [--seed S] [--blas-own-choice] [--lib PATH] [--freeze-sweep PATH]

The two sweeps (freeze_sweep, pytorch_sweep.py) run in separate processes, minutes
apart; on a shared machine whose speed drifts by a third from one minute to the next,
their ratio then measures the drift as much as the libraries.  Here one process loads
libfreezebench (through the freezebench Python package, python/freezebench beside this
script, which --lib points at the library) and PyTorch and gives both the same model
(PyTorch's initial weights copied into freezebench), the same batch and the same SGD.
freezebench's step is the package's Trainer.step on PyTorch's own x and y (contiguous
float32: read in place); its shape and dtype checks add about 4 µs a step in Python.

How it avoids order bias.  Every (spec, library) is first warmed up to its steady state:
untimed steps until the recent ones stop getting faster (bounded).  Then come the rounds.
Each round visits every spec once, in a fresh random order drawn from --seed (and never
starting with the spec the previous round started with); a visit runs each library's
block of K timed steps, and which library goes first alternates from one visit of a spec
to the next.  So no spec is always measured first and no library always runs first.  The
schedule is a pure function, `schedule`, tested by tests/test_step_schedule.py.

What is reported.  A visit's time of a library is the median of its K steps.  For each
spec: each library's median over the rounds with a 95% interval (results/stats.py
median_ci: exact order statistics), and the ratio PyTorch/freezebench (above 1,
freezebench is faster): the median of the per-round ratios, with median_ci of those.  The
ratio is taken within each round, not from each side's times resampled apart
(stats.ratio_ci), because the two blocks of a visit run within a second of each other:
the machine's drift over minutes moves both alike and cancels in their ratio, while
resampling the sides independently would count that drift as noise of each side and
widen the interval by it.  Intervals need 6 rounds or more (stats.MIN_SAMPLES); with
fewer they read n/a.

Both libraries train the same model on the same data, so their losses must agree after
the same number of updates: the loss at the last step both have taken (the warm-ups of
the two differ in length) is checked (relative difference at most 1e-3), and a
disagreement is an error (exit 1).

  --model M[@B]     widths as freeze_sweep's --model (default 1024x9@256)
  --spec S          a freeze spec, as freeze_sweep's --spec; repeatable (default none and
                    prefix:4); a repeated spec is measured once
  --rounds N        rounds (default 10); each visits every spec once
  --steps K         timed steps of each library per visit (default 5)
  --threads T       threads of both (default 1); they share one OpenMP runtime
  --zero-grad MODE  how PyTorch clears gradients each step: `none`, zero_grad(
                    set_to_none=True), PyTorch>=2's default and how most code now runs
                    (the default here; Debian 12's torch 1.13 defaults to False); `zero`,
                    set_to_none=False (gradients zeroed in place, no allocation); `both`,
                    the two as two PyTorch sides in the same rounds, each with its ratio
  --seed S          seeds the order of the specs in each round (default 1)
  --blas-own-choice measure without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so PyTorch's
                    OpenBLAS picks its own core (this process's environment is unchanged;
                    the measuring child gets the edited one)
  --lib PATH        libfreezebench (default build/src/libfreezebench.so.0 beside this
                    script)
  --freeze-sweep P  names the machine and the OpenBLAS core the child's environment picks
                    (default build/bench/freeze_sweep)
SGD: lr 1e-4, momentum 0.9, as both sweeps.  Bad options exit with status 2.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, os.pardir, "results"))
import pytorch_sweep as sweep  # noqa: E402  (spec and model parsing, the BLAS environment)
import stats  # noqa: E402  (medians and their intervals, results/stats.py)

LR, MOMENTUM = 1e-4, 0.9
LOSS_RTOL = 1e-3
FREEZEBENCH = "freezebench"
ZERO_GRAD_MODES = ("none", "zero")

# Warm-up: steps until the median of the last `window` is no more than WARM_TOL faster
# than the `window` before, at most `max_steps`.  Why warm up to a steady state, not a
# fixed two steps: PyTorch's first steps pay for memory, not for arithmetic.  With
# zero_grad(set_to_none=True) every step frees the gradients (33 MB for 1024x9) and the
# next backward allocates them again; until glibc's malloc has settled its mmap and trim
# thresholds at those sizes the freed memory goes back to the kernel and the new gradients
# fault their pages in again (on 1024x9@256: about 9000 page faults, 36 MB, per step for
# the first 10 or so steps, then none; with set_to_none=False they stop after 2 steps).
# Those thresholds are per process, so whichever spec was measured first paid for them
# alone (PyTorch 167 ms for `none` measured first, 78.5 ms measured second).  Every
# (spec, library) is warmed this way before the first timed step, so none of them
# inherits another's warm-up.
FIRST_WARM_WINDOW, FIRST_WARM_MAX = 4, 40
# Why warm up again at every visit: between two visits of a spec the other specs and the
# other library ran, with their own weights (33 MB each for 1024x9), packed panels,
# gradients and allocator state; the caches hold theirs, not this side's.  Timing the
# first step back would charge that to whoever happens to come after a change.  A short
# warm-up (until one step is no faster than the one before it) brings the side back.
REWARM_WINDOW, REWARM_MAX = 1, 6
WARM_TOL = 0.03


# ---- the schedule (pure: tests/test_step_schedule.py) --------------------------------------

def side_names(zero_grad):
    """The measured sides: 'pytorch:none' and/or 'pytorch:zero', then freezebench."""
    modes = ZERO_GRAD_MODES if zero_grad == "both" else (zero_grad,)
    return [f"pytorch:{m}" for m in modes] + [FREEZEBENCH]


def library(side):
    """'pytorch:zero' -> 'pytorch'; 'freezebench' -> 'freezebench'."""
    return side.split(":", 1)[0]


def schedule(specs, rounds, seed, sides):
    """The rounds: a list of `rounds` lists of visits (spec, sides in the order they run).

    Each round holds every spec once, in an order drawn from random.Random(seed), redrawn
    when it would start with the spec the previous round started with (so the first
    place changes every round).  A spec's visits alternate which library runs first,
    starting from its place in `specs` so that a round has both; where there are two
    PyTorch sides they take turns leading PyTorch's part.  The same arguments always give
    the same schedule."""
    specs = list(specs)
    fz = [s for s in sides if library(s) == FREEZEBENCH]
    pt = [s for s in sides if library(s) != FREEZEBENCH]
    rng = random.Random(seed)
    out, first = [], None
    for r in range(rounds):
        order = list(range(len(specs)))
        rng.shuffle(order)
        while len(specs) > 1 and order[0] == first:
            rng.shuffle(order)
        first = order[0] if order else None
        visits = []
        for i in order:
            turn = r + i                      # this spec's visit number, offset by its place
            k = (turn // 2) % len(pt) if pt else 0
            pt_order = pt[k:] + pt[:k]
            visits.append((specs[i], tuple(fz + pt_order if turn % 2 else pt_order + fz)))
        out.append(visits)
    return out


def stopped_getting_faster(times, window, tol=WARM_TOL):
    """Whether the last `window` step times are, by median, no more than `tol` faster than
    the `window` before them; False until there are 2·window of them."""
    if len(times) < 2 * window:
        return False
    recent = stats.median(times[-window:])
    before = stats.median(times[-2 * window:-window])
    return recent >= (1 - tol) * before


def warm_up(step, window, max_steps):
    """Untimed steps (timed only to decide when to stop) until they stop getting faster
    or max_steps ran; returns their times."""
    times = []
    while len(times) < max_steps and not stopped_getting_faster(times, window):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


# ---- the two libraries ------------------------------------------------------------------

def load_freezebench(path):
    """The freezebench package from this source tree (python/), ahead of an installed
    one, set to load the library at `path` (--lib).  Imported in the measuring child
    only: tests/test_step_schedule.py imports this script for its schedule alone."""
    sys.path.insert(0, os.path.join(HERE, os.pardir, "python"))
    import freezebench
    freezebench.set_library(path)
    return freezebench


class Side:
    """One library training one spec: its step, the loss of every step it took, the
    warm-up before the rounds, and per visit the re-warm length and the K timed steps."""

    def __init__(self, step, losses, close=lambda: None):
        self.step, self.losses, self.close = step, losses, close
        self.first_warm, self.rewarm, self.visits = [], [], []


def pytorch_side(torch, nn, widths, frozen, x, y, set_to_none):
    """PyTorch's model, seeded as every other side's, and its training step as users
    write it: zero_grad, forward, MSE loss, backward, SGD step."""
    L = len(widths) - 1
    torch.manual_seed(0)
    layers = nn.ModuleDict({f"fc{i + 1}": nn.Linear(widths[i], widths[i + 1])
                            for i in range(L)})
    for n, p in layers.named_parameters():
        p.requires_grad = n not in frozen
    opt = torch.optim.SGD([p for p in layers.parameters() if p.requires_grad],
                          lr=LR, momentum=MOMENTUM)
    loss_fn = nn.MSELoss()
    losses = []

    def step():
        opt.zero_grad(set_to_none=set_to_none)
        h = x
        for i in range(L):
            h = layers[f"fc{i + 1}"](h)
            if i + 1 < L:
                h = torch.relu(h)
        loss = loss_fn(h, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    side = Side(step, losses)
    side.layers = layers
    return side


def freezebench_side(fb, widths, batch, spec, layers, x, y):
    """freezebench's model with PyTorch's starting weights (row-major out×in in both;
    the ModuleDict's fc1.weight, ... are the library's own names)."""
    model = fb.Model.from_widths(widths, seed=1)
    model.load_state_dict({n: p.detach() for n, p in layers.named_parameters()})
    if spec != "none":
        model.freeze(spec)
    trainer = fb.Trainer(model, batch, fb.SGD(LR, MOMENTUM, 0.0))
    losses = []

    def step():
        losses.append(trainer.step(x, y))

    def close():
        trainer.close()
        model.close()
    return Side(step, losses, close)


def measure(args):
    """The child: every spec's sides built, warmed and measured in the schedule's rounds;
    returns the schedule and, per spec and side, what it measured."""
    import torch
    from torch import nn
    torch.set_num_threads(args.threads)
    fb = load_freezebench(args.lib)
    fb.set_threads(args.threads)
    _, widths, batch = sweep.parse_model(args.model)
    sides = side_names(args.zero_grad)
    setups = {}
    for spec in args.spec:
        frozen, why = sweep.fit(spec, widths)
        if frozen is None:
            print(f"step_vs_pytorch: spec {spec} skipped: {why}", file=sys.stderr)
            continue
        torch.manual_seed(1)
        x, y = torch.randn(batch, widths[0]), torch.randn(batch, widths[-1])
        setup = {s: pytorch_side(torch, nn, widths, frozen, x, y, s == "pytorch:none")
                 for s in sides if s != FREEZEBENCH}
        first_pt = setup[sides[0]]
        setup[FREEZEBENCH] = freezebench_side(fb, widths, batch, spec, first_pt.layers, x, y)
        setups[spec] = setup

    plan = schedule(list(setups), args.rounds, args.seed, sides)
    for spec, setup in setups.items():
        for s in sides:
            setup[s].first_warm = warm_up(setup[s].step, FIRST_WARM_WINDOW, FIRST_WARM_MAX)
    for visits in plan:
        for spec, order in visits:
            for s in order:
                side = setups[spec][s]
                side.rewarm.append(len(warm_up(side.step, REWARM_WINDOW, REWARM_MAX)))
                times = []
                for _ in range(args.steps):
                    t0 = time.perf_counter()
                    side.step()
                    times.append(time.perf_counter() - t0)
                side.visits.append(times)

    out = dict(schedule=plan, specs=[])
    for spec, setup in setups.items():
        row = dict(spec=spec, sides={})
        for s in sides:
            side = setup[s]
            row["sides"][s] = dict(first_warm=side.first_warm, rewarm=side.rewarm,
                                   visits=side.visits, losses=side.losses)
            side.close()
        out["specs"].append(row)
    return out


# ---- the report ---------------------------------------------------------------------------

def losses_agree(a, b):
    """Both sides' losses after the same number of updates: the last step both took."""
    n = min(len(a), len(b))
    if n == 0:
        return False, float("nan"), float("nan")
    pl, fl = a[n - 1], b[n - 1]
    return abs(pl - fl) <= LOSS_RTOL * max(1.0, abs(pl)), pl, fl


def side_summary(visits):
    """A side's per-round median steps: their median and its interval, in ms."""
    meds = [stats.median(v) for v in visits]
    ci = stats.median_ci(meds)
    lo, hi = ci if ci else (None, None)
    ms = lambda v: None if v is None else 1e3 * v
    return meds, stats.fmt_interval(ms(stats.median(meds)), ms(lo), ms(hi))


def ratio_summary(pt_meds, fz_meds):
    """PyTorch/freezebench per round (the two blocks of one visit), their median and its
    interval."""
    ratios = [p / f for p, f in zip(pt_meds, fz_meds)]
    ci = stats.median_ci(ratios)
    lo, hi = ci if ci else (None, None)
    return stats.fmt_interval(stats.median(ratios), lo, hi)


def report(args, machine, result):
    sides = side_names(args.zero_grad)
    print(f"model {args.model}, {args.threads} thread(s), {args.rounds} rounds of "
          f"{args.steps} steps per library and spec, specs in a random order per round "
          f"(seed {args.seed}); {machine.get('uarch', 'machine not described')} (family "
          f"{machine.get('cpu_family', '?')} model {machine.get('cpu_model_number', '?')}), "
          f"OpenBLAS core {machine.get('openblas_core', 'unknown')}"
          f"{' (its own choice)' if args.blas_own_choice else ''}")
    print("step ms: median of the rounds [95% interval]; PyTorch/freezebench: median of "
          "the per-round ratios [95% interval]" +
          ("" if args.rounds >= stats.MIN_SAMPLES else
           f"; intervals need {stats.MIN_SAMPLES} rounds or more"))
    print(f"{'spec':<12} {'zero_grad':<9} {'PyTorch step ms':>22} "
          f"{'freezebench step ms':>22} {'PyTorch/freezebench':>22}  losses agree")
    bad = False
    for row in result["specs"]:
        got = row["sides"]
        fz_meds, fz_text = side_summary(got[FREEZEBENCH]["visits"])
        for s in sides[:-1]:
            pt_meds, pt_text = side_summary(got[s]["visits"])
            agree, pl, fl = losses_agree(got[s]["losses"], got[FREEZEBENCH]["losses"])
            bad |= not agree
            print(f"{row['spec']:<12} {s.split(':')[1]:<9} {pt_text:>22} {fz_text:>22} "
                  f"{ratio_summary(pt_meds, fz_meds):>22}  "
                  f"{'yes' if agree else 'NO'} ({pl:.6g} / {fl:.6g})")
    # The warm-up's length and how much faster its last step was than its first: where
    # the order bias came from, shown rather than hidden.
    print("warm-up before the rounds, steps (first -> last step ms); re-warm steps per "
          "visit, median:")
    for row in result["specs"]:
        parts = []
        for s in sides:
            w = row["sides"][s]["first_warm"]
            rw = row["sides"][s]["rewarm"]
            parts.append(f"{s} {len(w)} ({1e3 * w[0]:.3g} -> {1e3 * w[-1]:.3g}), "
                         f"{stats.median(rw) if rw else 0:g}")
        print(f"  {row['spec']:<10} " + "; ".join(parts))
    if bad:
        print("step_vs_pytorch: the two libraries' losses disagree: they did not train the "
              "same model", file=sys.stderr)
    return 1 if bad or not result["specs"] else 0


def parse_args(argv):
    p = argparse.ArgumentParser(description="freezebench's step against PyTorch's, "
                                "interleaved in one process (see the module docstring).")
    p.add_argument("--model", default="1024x9@256")
    p.add_argument("--spec", action="append")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--zero-grad", choices=("none", "zero", "both"), default="none",
                   help="PyTorch's zero_grad: none = set_to_none=True (PyTorch>=2's "
                        "default), zero = set_to_none=False, both = the two as two sides")
    p.add_argument("--seed", type=int, default=1,
                   help="seeds the order of the specs in each round (default 1)")
    p.add_argument("--blas-own-choice", action="store_true")
    p.add_argument("--lib", default=os.path.join(HERE, os.pardir, "build", "src",
                                                 "libfreezebench.so.0"))
    p.add_argument("--freeze-sweep", default=os.path.join(HERE, os.pardir, "build", "bench",
                                                          "freeze_sweep"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.spec = list(dict.fromkeys(args.spec or ["none", "prefix:4"]))
    try:
        _, widths, _ = sweep.parse_model(args.model)
        for s in args.spec:
            sweep.check_spec(s)
    except ValueError as e:
        p.error(str(e))
    if not any(sweep.fit(s, widths)[0] is not None for s in args.spec):
        p.error(f"no --spec fits model {args.model} (a prefix deeper than it, a glob naming "
                f"none of its parameters, or a spec freezing every parameter)")
    for name in ("rounds", "steps", "threads"):
        if not 1 <= getattr(args, name) <= 100000:
            p.error(f"--{name} must be a whole number from 1 to 100000")
    if not 0 <= args.seed < 1 << 63:
        p.error("--seed must be a whole number from 0 to 2^63-1")
    if not os.path.exists(args.lib):
        p.error(f"--lib {args.lib}: no such file (build first: meson setup build && "
                f"ninja -C build)")
    return args


def main(argv):
    args = parse_args(argv)
    if args.child:
        json.dump(measure(args), sys.stdout)
        return 0
    # OpenBLAS reads its core and thread count once, when it loads: a child gets them.
    env = sweep.blas_env(args.blas_own_choice)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(args.threads)
    machine = {}
    if os.path.exists(args.freeze_sweep):
        machine = sweep.describe_machine(args.freeze_sweep, env)["machine"]
    run = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"] + argv,
                         env=env, capture_output=True, text=True)
    sys.stderr.write(run.stderr)
    if run.returncode != 0:
        return 1
    return report(args, machine, json.loads(run.stdout))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
