#!/usr/bin/python3
"""freezebench's training step against PyTorch's, side by side in one process.

usage: /usr/bin/python3 bench/step_vs_pytorch.py [--model M[@B]] [--spec S]...
           [--rounds N] [--steps K] [--threads T] [--blas-own-choice]
           [--lib PATH] [--freeze-sweep PATH]

The two sweeps (freeze_sweep, pytorch_sweep.py) run in separate processes, minutes
apart; on a shared machine whose speed drifts by a third from one minute to the next,
their ratio then measures the drift as much as the libraries.  Here one process loads
libfreezebench (ctypes) and PyTorch, gives both the same model (PyTorch's initial
weights copied into freezebench), the same batch and the same SGD, and alternates them
step by step, in an order that flips every step.  Each round takes the median of K steps
of each; the ratio of a round's medians (PyTorch / freezebench: above 1, freezebench is
faster) is what the table summarises, median [min-max] over the rounds.  Both train the
same model on the same data, so their losses must agree at every step: the last one is
checked (relative difference at most 1e-3), and a disagreement is an error (exit 1).

  --model M[@B]     widths as freeze_sweep's --model (default 1024x9@256)
  --spec S          a freeze spec, as freeze_sweep's --spec; repeatable (default none and
                    prefix:4)
  --rounds N        rounds per spec (default 10)
  --steps K         steps of each library per round (default 5)
  --threads T       threads of both (default 1); they share one OpenMP runtime
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
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_sweep as sweep  # noqa: E402  (spec and model parsing, the BLAS environment)

HERE = os.path.dirname(os.path.abspath(__file__))
LR, MOMENTUM = 1e-4, 0.9
LOSS_RTOL = 1e-3


class Sgd(ctypes.Structure):
    _fields_ = [("lr", ctypes.c_float), ("momentum", ctypes.c_float),
                ("weight_decay", ctypes.c_float)]


def load_freezebench(path):
    lib = ctypes.CDLL(path)
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    lib.fz_mlp_create.restype = vp
    lib.fz_mlp_create.argtypes = [ctypes.POINTER(sz), sz, ctypes.c_uint64]
    lib.fz_param_data.restype = ctypes.POINTER(ctypes.c_float)
    lib.fz_param_data.argtypes = [vp, ctypes.c_char_p, ctypes.POINTER(sz)]
    lib.fz_freeze.argtypes = [vp, ctypes.c_char_p]
    lib.fz_trainer_create.restype = vp
    lib.fz_trainer_create.argtypes = [vp, sz, Sgd]
    lib.fz_train_step.argtypes = [vp, vp, vp, ctypes.POINTER(ctypes.c_float)]
    lib.fz_last_error.restype = ctypes.c_char_p
    lib.fz_set_threads.argtypes = [ctypes.c_int]
    for fn in ("fz_trainer_free", "fz_model_free"):
        getattr(lib, fn).argtypes = [vp]
    return lib


def fz_error(lib, what):
    raise RuntimeError(f"{what}: {lib.fz_last_error().decode()}")


def measure(args):
    """The child: both libraries, every spec; returns one dict per spec."""
    import torch
    from torch import nn
    torch.set_num_threads(args.threads)
    lib = load_freezebench(args.lib)
    lib.fz_set_threads(args.threads)
    _, widths, batch = sweep.parse_model(args.model)
    L = len(widths) - 1
    rows = []
    for spec in args.spec:
        frozen, why = sweep.fit(spec, widths)
        if frozen is None:
            print(f"step_vs_pytorch: spec {spec} skipped: {why}", file=sys.stderr)
            continue
        torch.manual_seed(0)
        layers = nn.ModuleDict({f"fc{i + 1}": nn.Linear(widths[i], widths[i + 1])
                                for i in range(L)})
        x, y = torch.randn(batch, widths[0]), torch.randn(batch, widths[-1])
        for n, p in layers.named_parameters():
            p.requires_grad = n not in frozen
        opt = torch.optim.SGD([p for p in layers.parameters() if p.requires_grad],
                              lr=LR, momentum=MOMENTUM)
        loss_fn = nn.MSELoss()

        c_widths = (ctypes.c_size_t * len(widths))(*widths)
        model = lib.fz_mlp_create(c_widths, len(widths), 1) or fz_error(lib, "fz_mlp_create")
        # The same starting point: PyTorch's weights, row-major out×in in both.
        for n, p in layers.named_parameters():
            numel = ctypes.c_size_t()
            dst = lib.fz_param_data(model, n.encode(), ctypes.byref(numel))
            if not dst or numel.value != p.numel():
                fz_error(lib, f"fz_param_data({n})")
            ctypes.memmove(dst, p.detach().contiguous().data_ptr(), 4 * p.numel())
        if spec != "none" and lib.fz_freeze(model, spec.encode()) != 0:
            fz_error(lib, f"fz_freeze({spec})")
        trainer = lib.fz_trainer_create(model, batch, Sgd(LR, MOMENTUM, 0.0)) \
            or fz_error(lib, "fz_trainer_create")
        fz_loss = ctypes.c_float()
        xp, yp = x.data_ptr(), y.data_ptr()
        pt_loss = [0.0]

        def pt_step():
            opt.zero_grad(set_to_none=True)
            h = x
            for i in range(L):
                h = layers[f"fc{i + 1}"](h)
                if i + 1 < L:
                    h = torch.relu(h)
            loss = loss_fn(h, y)
            loss.backward()
            opt.step()
            pt_loss[0] = loss.item()

        def fz_step():
            if lib.fz_train_step(trainer, xp, yp, ctypes.byref(fz_loss)) != 0:
                fz_error(lib, "fz_train_step")

        for _ in range(2):   # untimed: first-step allocations, packs, caches
            pt_step()
            fz_step()
        pt_ms, fz_ms, ratios = [], [], []
        step = 0
        for _ in range(args.rounds):
            a, b = [], []
            for _ in range(args.steps):
                pair = ((pt_step, a), (fz_step, b))
                for fn, acc in pair if step % 2 == 0 else pair[::-1]:
                    t0 = time.perf_counter()
                    fn()
                    acc.append(time.perf_counter() - t0)
                step += 1
            pt_ms.append(1e3 * statistics.median(a))
            fz_ms.append(1e3 * statistics.median(b))
            ratios.append(pt_ms[-1] / fz_ms[-1])
        lib.fz_trainer_free(trainer)
        lib.fz_model_free(model)
        rows.append(dict(spec=spec, pytorch_ms=pt_ms, freezebench_ms=fz_ms, ratio=ratios,
                         pytorch_loss=pt_loss[0], freezebench_loss=fz_loss.value))
    return rows


def summary(v, fmt):
    return f"{fmt.format(statistics.median(v))} [{fmt.format(min(v))}-{fmt.format(max(v))}]"


def parse_args(argv):
    p = argparse.ArgumentParser(description="freezebench's step against PyTorch's, "
                                "alternated in one process.")
    p.add_argument("--model", default="1024x9@256")
    p.add_argument("--spec", action="append")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--blas-own-choice", action="store_true")
    p.add_argument("--lib", default=os.path.join(HERE, os.pardir, "build", "src",
                                                 "libfreezebench.so.0"))
    p.add_argument("--freeze-sweep", default=os.path.join(HERE, os.pardir, "build", "bench",
                                                          "freeze_sweep"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.spec = args.spec or ["none", "prefix:4"]
    try:
        sweep.parse_model(args.model)
        for s in args.spec:
            sweep.check_spec(s)
    except ValueError as e:
        p.error(str(e))
    for name in ("rounds", "steps", "threads"):
        if not 1 <= getattr(args, name) <= 100000:
            p.error(f"--{name} must be a whole number from 1 to 100000")
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
    rows = json.loads(run.stdout)
    print(f"model {args.model}, {args.threads} thread(s), {args.rounds} rounds of "
          f"{args.steps} steps each, alternated in one process; "
          f"{machine.get('uarch', 'machine not described')} (family "
          f"{machine.get('cpu_family', '?')} model {machine.get('cpu_model_number', '?')}), "
          f"OpenBLAS core "
          f"{machine.get('openblas_core', 'unknown')}"
          f"{' (its own choice)' if args.blas_own_choice else ''}")
    print(f"{'spec':<12} {'PyTorch step ms':>24} {'freezebench step ms':>24} "
          f"{'PyTorch/freezebench':>22}  losses agree")
    bad = False
    for r in rows:
        pl, fl = r["pytorch_loss"], r["freezebench_loss"]
        agree = abs(pl - fl) <= LOSS_RTOL * max(1.0, abs(pl))
        bad |= not agree
        print(f"{r['spec']:<12} {summary(r['pytorch_ms'], '{:.3g}'):>24} "
              f"{summary(r['freezebench_ms'], '{:.3g}'):>24} "
              f"{summary(r['ratio'], '{:.2f}'):>22}  "
              f"{'yes' if agree else 'NO'} ({pl:.6g} / {fl:.6g})")
    if bad:
        print("step_vs_pytorch: the two libraries' losses disagree: they did not train the "
              "same model", file=sys.stderr)
    return 1 if bad or not rows else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
