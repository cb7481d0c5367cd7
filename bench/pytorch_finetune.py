#!/usr/bin/python3
"""The fine-tuning benchmark (build/bench/finetune) in PyTorch, written in the same CSV
columns (results/README.md, "The fine-tuning CSV", schema finetune-2) with
impl = pytorch, so results/plot_finetune.py draws both libraries' accuracy against
training time.

usage: /usr/bin/python3 bench/pytorch_finetune.py [--data-dir DIR] [--widths W,W,..]
           [--batch B] [--pretrain-epochs N] [--epochs N] [--optimizer adamw|sgd|both]
           [--spec S]... [--evals-per-epoch E] [--threads T] [--seed S]
           [--target-fraction F] [--quick]
           [--output PATH [--overwrite] | --no-csv] [--allow-dirty]
           [--freeze-sweep PATH] [--blas-own-choice]

The experiment and the options are finetune's, with its defaults: pretrain an MLP
784-512-512-512 plus a 5-way head on Fashion-MNIST classes 0-4 (AdamW, 3 epochs), then
for each optimizer and spec copy the hidden layers, add a NEW head (drawn after
torch.manual_seed(seed + 1): the same head for every spec), freeze per spec (none,
prefix:1 .. prefix:H-1, last, bitfit, gradual = 0:prefix:H,1:prefix:H-1,..), fine-tune on
classes 5-9 relabelled 0-4 and evaluate test accuracy E times an epoch
(--evals-per-epoch, default 4: one CSV row each).  AdamW is
torch.optim.AdamW's defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01),
SGD lr 0.05 momentum 0.9.  The optimizer holds every parameter; a frozen one has
requires_grad False, no gradient (zero_grad(set_to_none=True)) and so no update and no
state; a schedule toggles requires_grad at the start of its epochs, as
tests/torch_finetune_check.py does.  Both libraries run the same experiment: the models
start from fz_mlp_create's parameters for the same seeds (fz_init: rng.h's splitmix64
drawn in state_dict order, as the library draws them; the new head from seed+1), and
every epoch takes the samples in finetune's own order (fz_shuffle: ft_shuffle's
Fisher-Yates from the same generator), so the curves differ only by float rounding
and the time to a target compares speed, not luck.

Evaluations within an epoch: an epoch of S = train_samples // batch steps runs in E
parts, part j ending after step j*S//E (nearly equal parts, the last ending at S), each
followed by an evaluation; so the time to a target is read to a fraction of an epoch,
not quantised to whole epochs.  The epoch's sample order is the same whatever E (the
parts are consecutive slices of it), and a schedule still changes the frozen set at
epoch starts only.  With E = 1 the rows are one per epoch.

time_s is the cumulative wall time (time.perf_counter) of the training loops only:
evaluation is excluded, as in the C program; part_time_s is one part's share.  No
frozen-prefix cache exists here: every row has cache 0.  optimizer_state_bytes sums the
optimizer's state tensors (exp_avg and exp_avg_sq, or momentum_buffer), not its step
counters.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set to --threads
(and OMP_WAIT_POLICY=PASSIVE unless set) in this process's environment before torch is
imported, then torch.set_num_threads(T), and the process is pinned to T of its allowed
CPUs (the variables alone did not hold PyTorch to one core).  --blas-own-choice removes
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE first.  The system columns come from `freeze_sweep --machine` run in
that same environment (bench/sweep_setup.py), so openblas_core is the core PyTorch's
OpenBLAS picks here; isa and compiler are PyTorch's.  The CSV follows pytorch_sweep.py's
publishing rules: default results/finetune-pytorch-<system_id>-<threads>.csv, a dated name
where it exists, --output refused when it exists without --overwrite, a dirty checkout
refused without --allow-dirty, whole-file writes.

Exit status: 0 written, 1 a failure, 2 a bad option, 77 torch or the data missing (SKIP).
"""
import argparse
import datetime
import gzip
import math
import os
import re
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sweep_setup import (  # noqa: E402
    blas_env, describe_machine, git_revision, torch_build, frozen_names, OPENBLAS_CORE_VARS)
# pytorch_sweep (the publishing rules: check_output, free_name, write_csv) is imported in
# main, once the thread variables are set: it imports NumPy, whose OpenBLAS starts its
# thread pool when it loads, one thread a core, and PyTorch shares that OpenBLAS.

SKIP = 77
CLASSES = 5
SCHEMA = "finetune-2"
DATA_DIR = "/usr/share/datasets/fashion-mnist"
# bench/finetuning/ft_csv.c's ft_columns, in order (the finetune_quick test holds them equal).
COLUMNS = (
    "schema_version utc_time system_id host cpu_vendor cpu_family cpu_model_number "
    "cpu_stepping uarch cpu_model arch vector_isa isa hypervisor cores smt threads bound "
    "l1d_bytes l2_bytes l3_bytes cache_source memory_bytes cpu_mhz governor os kernel "
    "compiler blas openblas_core git_revision "
    "bench impl model batch optimizer optimizer_settings seed pretrain_epochs "
    "pretrain_accuracy pretrain_s train_samples test_samples evals_per_epoch "
    "freeze_spec freeze_schedule cache "
    "epoch evaluation epochs_done time_s part_time_s train_loss test_loss test_accuracy "
    "trainable_params frozen_params optimizer_state_bytes cache_bytes steps cached_steps "
    "best_accuracy target_fraction target_accuracy reached_target time_to_target_s "
    "target_epoch target_epochs_done").split()
SETTINGS = {"adamw": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
            "sgd": dict(lr=0.05, momentum=0.9, weight_decay=0.0)}
SETTINGS_TEXT = {"adamw": "lr=0.001 betas=0.9,0.999 eps=1e-08 weight_decay=0.01",
                 "sgd": "lr=0.05 momentum=0.9 weight_decay=0"}


def read_idx(path, ndim):
    """An IDX file of unsigned bytes (gzip'd or not) as a numpy array."""
    import numpy as np
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, nd = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or nd != ndim:
        raise ValueError(f"{path}: not an IDX file of {ndim}-D unsigned bytes")
    dims = struct.unpack(f">{nd}I", data[4:4 + 4 * nd])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd)
    if body.size != math.prod(dims):
        raise ValueError(f"{path}: {body.size} bytes of data, the header says {math.prod(dims)}")
    return body.reshape(dims)


def load_split(d, split):
    import numpy as np
    x = read_idx(os.path.join(d, f"{split}-images-idx3-ubyte.gz"), 3)
    y = read_idx(os.path.join(d, f"{split}-labels-idx1-ubyte.gz"), 1)
    return x.reshape(len(x), -1).astype(np.float32) / 255.0, y.astype(np.int64)


def select(x, y, first, end, relabel, limit):
    """Samples of classes [first, end) in file order, as class_data_select; the first
    `limit` of them (0: all)."""
    keep = (y >= first) & (y < end)
    x, y = x[keep], y[keep] - (first if relabel else 0)
    return (x[:limit], y[:limit]) if limit else (x, y)


MASK64 = (1 << 64) - 1


def splitmix64(seed, n):
    """The first n draws of src/core/rng.h's generator seeded with `seed` (rng_next)."""
    import numpy as np
    with np.errstate(over="ignore"):
        z = np.uint64(seed & MASK64) + np.arange(1, n + 1, dtype=np.uint64) * \
            np.uint64(0x9e3779b97f4a7c15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xbf58476d1ce4e5b9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94d049bb133111eb)
        return z ^ (z >> np.uint64(31))


def fz_init(widths, seed):
    """fz_mlp_create(widths, seed)'s parameters, by fcK name: nn.Linear's U(±1/sqrt(in)),
    drawn in state_dict order from rng.h's generator (rng_uniform), in float32."""
    import numpy as np
    sizes = [(widths[l + 1], widths[l]) for l in range(len(widths) - 1)]
    draws = splitmix64(seed, sum(o * i + o for o, i in sizes))
    u = (draws >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    out, at = {}, 0
    for l, (o, i) in enumerate(sizes):
        bound = np.float32(1.0) / np.sqrt(np.float32(i))
        lo, span = -bound, bound - (-bound)
        w = lo + span * u[at:at + o * i]
        at += o * i
        b = lo + span * u[at:at + o]
        at += o
        out[f"fc{l + 1}.weight"], out[f"fc{l + 1}.bias"] = w.reshape(o, i), b
    return out


def fz_shuffle(n, seed, epoch):
    """finetune's sample order of an epoch (ft_shuffle): Fisher-Yates from rng.h's
    generator seeded with seed ^ (0x5851f42d4c957f2d·(epoch + 1))."""
    import numpy as np
    draws = splitmix64(seed ^ ((0x5851f42d4c957f2d * (epoch + 1)) & MASK64), max(n - 1, 0))
    order = list(range(n))
    for k, i in enumerate(range(n, 1, -1)):
        j = int(draws[k] % np.uint64(i))
        order[i - 1], order[j] = order[j], order[i - 1]
    return order


def parse_schedule(text):
    """"E:SPEC,E:SPEC" as fz_freeze_schedule_parse: an item not starting with digits and
    ':' continues the previous spec."""
    out = []
    for item in text.split(","):
        m = re.fullmatch(r"([0-9]+):(.*)", item)
        if m:
            out.append([int(m.group(1)), m.group(2)])
        elif out:
            out[-1][1] += "," + item
        else:
            raise ValueError(f"'{text}': a schedule starts with E:SPEC")
    return {e: s for e, s in out}


def part_ends(steps, evals):
    """The steps after which an epoch of `steps` steps is evaluated: part j of `evals`
    ends after step j*steps//evals (integer division, as finetune: nearly equal parts,
    the last ending at `steps`; none empty while evals <= steps)."""
    return [j * steps // evals for j in range(1, evals + 1)]


def default_specs(hidden, epochs):
    specs = [("none", "none")] + [(f"prefix:{k}", f"prefix:{k}") for k in range(1, hidden)]
    gradual = ",".join(f"{e}:prefix:{hidden - e}" for e in range(min(hidden, epochs)))
    return specs + [("last", "last"), ("bitfit", "bitfit"), ("gradual", gradual)]


def parse_args(argv):
    ap = argparse.ArgumentParser(description="build/bench/finetune's experiment in PyTorch; "
                                 "see the module docstring.")
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--widths", help="hidden stack, inputs first (default 784,512,512,512; "
                    "--quick 784,64,64,64); a 5-way head is added")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--pretrain-epochs", type=int)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--optimizer", choices=("adamw", "sgd", "both"), default="both")
    ap.add_argument("--spec", action="append", metavar="S",
                    help="freeze spec, schedule E:SPEC,.. or gradual; repeatable")
    ap.add_argument("--evals-per-epoch", type=int, default=4, metavar="E",
                    help="test evaluations (CSV rows) per epoch, at nearly equal steps; "
                    "1 to the steps per epoch (default 4)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target-fraction", type=float, default=0.95)
    ap.add_argument("--quick", action="store_true",
                    help="512 training and 256 test samples per phase, small widths (tests)")
    ap.add_argument("--output", metavar="PATH")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--no-csv", action="store_true")
    ap.add_argument("--allow-dirty", action="store_true")
    ap.add_argument("--freeze-sweep", default=os.path.join(HERE, os.pardir, "build", "bench",
                                                            "freeze_sweep"))
    ap.add_argument("--blas-own-choice", action="store_true")
    a = ap.parse_args(argv)
    text = a.widths or ("784,64,64,64" if a.quick else "784,512,512,512")
    try:
        a.widths = [int(w) for w in text.split(",")] + [CLASSES]
    except ValueError:
        ap.error(f"--widths '{text}': comma-separated whole numbers")
    if len(a.widths) < 3 or a.widths[0] != 784 or min(a.widths) < 1:
        ap.error(f"--widths '{text}': 784 inputs and at least one hidden layer")
    if a.pretrain_epochs is None:
        a.pretrain_epochs = 1 if a.quick else 3
    if min(a.batch, a.epochs, a.pretrain_epochs) < 1 or a.threads < 0:
        ap.error("--batch, --epochs and --pretrain-epochs must be at least 1, --threads 0 or more")
    if not 0 < a.target_fraction <= 1:
        ap.error("--target-fraction: a number in (0, 1]")
    # The upper bound, the steps per epoch, needs the data: main checks it once loaded.
    if a.evals_per_epoch < 1:
        ap.error(f"--evals-per-epoch {a.evals_per_epoch}: at least 1")
    hidden = len(a.widths) - 2
    if not a.spec:
        a.specs = default_specs(hidden, a.epochs)
    else:
        a.specs = [next(s for s in default_specs(hidden, a.epochs) if s[0] == "gradual")
                   if t == "gradual" else (t, t) for t in a.spec]
    names = [f"fc{i + 1}.{k}" for i in range(len(a.widths) - 1) for k in ("weight", "bias")]
    for name, text in a.specs:
        try:
            plans = parse_schedule(text) if re.match(r"[0-9]+:", text) else {0: text}
        except ValueError as e:
            ap.error(f"--spec: {e}")
        for s in plans.values():
            frozen = frozen_names(s, names, len(a.widths) - 1)
            if frozen is None or len(frozen) == len(names):
                ap.error(f"--spec '{text}': does not fit the model or freezes everything")
    a.optimizers = ["adamw", "sgd"] if a.optimizer == "both" else [a.optimizer]
    a.limit = (512, 256) if a.quick else (0, 0)
    return a


def run_all(a, torch, data):
    from torch import nn
    torch.set_num_threads(a.threads)
    L = len(a.widths) - 1
    names = [f"fc{i + 1}.{k}" for i in range(L) for k in ("weight", "bias")]

    def make_model(seed):
        """finetune's model of this seed: the same parameters fz_mlp_create draws."""
        layers = []
        for i in range(L):
            layers += [nn.Linear(a.widths[i], a.widths[i + 1])] + ([nn.ReLU()] if i + 1 < L else [])
        model = nn.Sequential(*layers)
        init = fz_init(a.widths, seed)
        with torch.no_grad():
            for n, p in named(model).items():
                p.copy_(torch.from_numpy(init[n]))
        return model

    def named(model):   # fcK names for the Linear layers of the Sequential
        lin = [m for m in model if isinstance(m, nn.Linear)]
        return {f"fc{i + 1}.{k}": getattr(m, k) for i, m in enumerate(lin)
                for k in ("weight", "bias")}

    def evaluate(model, x, y):
        with torch.no_grad():
            out = model(x)
            return (nn.functional.cross_entropy(out, y).item(),
                    (out.argmax(1) == y).float().mean().item())

    def epoch(model, opt, x, y, seed, e, evals=1):
        """One epoch in `evals` parts (part_ends): yields each part's training time, mean
        step loss, steps and steps done in the epoch.  The clock runs only inside a
        part, so what the caller does between parts (evaluating) is not timed."""
        order = torch.tensor(fz_shuffle(len(x), seed, e))   # finetune's own order
        done = 0
        for end in part_ends(len(x) // a.batch, evals):
            total = 0.0
            t0 = time.perf_counter()
            for s in range(done, end):
                idx = order[s * a.batch:(s + 1) * a.batch]
                opt.zero_grad(set_to_none=True)
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
                total += loss.item()
            yield time.perf_counter() - t0, total / (end - done), end - done, end
            done = end

    (ptx, pty), (pex, pey), (ftx, fty), (fex, fey) = data
    pre = make_model(a.seed)
    opt = torch.optim.AdamW(pre.parameters(), **SETTINGS["adamw"])
    pre_s = sum(dt for e in range(a.pretrain_epochs)
                for dt, _, _, _ in epoch(pre, opt, ptx, pty, ~a.seed & MASK64, e))
    pre_acc = evaluate(pre, pex, pey)[1]
    print(f"pretrained {','.join(map(str, a.widths))} on classes 0-4: test accuracy "
          f"{pre_acc:.4f} after {a.pretrain_epochs} epochs ({pre_s:.2f} s)")
    runs = []
    for optim in a.optimizers:
        for name, text in a.specs:
            model = make_model(a.seed + 1)   # the new head: the same for every spec
            params, src = named(model), named(pre)
            with torch.no_grad():
                for n, p in params.items():
                    if int(n[2:n.index(".")]) < L:
                        p.copy_(src[n])
            plans = parse_schedule(text) if re.match(r"[0-9]+:", text) else {0: text}
            cls = torch.optim.AdamW if optim == "adamw" else torch.optim.SGD
            opt = cls(model.parameters(), **SETTINGS[optim])
            rows, total, S = [], 0.0, len(ftx) // a.batch
            for e in range(a.epochs):
                if e in plans:   # a schedule acts at epoch starts only, whatever E
                    frozen = frozen_names(plans[e], names, L)
                    for n, p in params.items():
                        p.requires_grad = n not in frozen
                parts = epoch(model, opt, ftx, fty, a.seed, e, a.evals_per_epoch)
                for j, (dt, loss, steps, done) in enumerate(parts, 1):
                    total += dt
                    test_loss, acc = evaluate(model, fex, fey)
                    state = sum(v.numel() * v.element_size() for st in opt.state.values()
                                for k, v in st.items() if k != "step" and torch.is_tensor(v))
                    trainable = sum(p.numel() for p in params.values() if p.requires_grad)
                    n_params = sum(p.numel() for p in params.values())
                    rows.append(dict(epoch=e + 1, evaluation=j, epochs_done=e + done / S,
                                     time_s=total, part_time_s=dt, train_loss=loss,
                                     test_loss=test_loss, test_accuracy=acc,
                                     trainable_params=trainable,
                                     frozen_params=n_params - trainable,
                                     optimizer_state_bytes=state, cache_bytes=0, steps=steps,
                                     cached_steps=0))
            runs.append(dict(optimizer=optim, freeze_spec=name,
                             freeze_schedule=text if re.match(r"[0-9]+:", text) else "",
                             rows=rows))
            # Epoch ends only: E points an epoch would not fit a line.
            print(f"  {optim:5} {name:10} " + "  ".join(
                f"{r['test_accuracy']:.4f} @ {r['time_s']:.2f} s" for r in rows
                if r["evaluation"] == a.evals_per_epoch), flush=True)
    return pre_acc, pre_s, runs


def targets(runs, fraction):
    for r in runs:
        none = [q for q in runs if q["optimizer"] == r["optimizer"] and q["freeze_spec"] == "none"]
        r["best_accuracy"] = max(x["test_accuracy"] for x in r["rows"])
        r["target_accuracy"] = fraction * max(x["test_accuracy"] for x in none[0]["rows"]) \
            if none else math.nan
        # The first evaluation at the target, within an epoch or at its end.
        hit = [x for x in r["rows"] if x["test_accuracy"] >= r["target_accuracy"]]
        r["time_to_target_s"] = hit[0]["time_s"] if hit else math.nan
        r["target_epoch"] = hit[0]["epoch"] if hit else math.nan
        r["target_epochs_done"] = hit[0]["epochs_done"] if hit else math.nan


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    revision = git_revision()
    if not os.path.isdir(a.data_dir):
        print(f"SKIP: no Fashion-MNIST at {a.data_dir} (apt-get install "
              f"dataset-fashion-mnist, or --data-dir)", file=sys.stderr)
        return SKIP
    # Before NumPy or torch loads OpenBLAS and its OpenMP pool: they read these once.
    env = blas_env(a.blas_own_choice)
    for v in OPENBLAS_CORE_VARS:
        if v not in env:
            os.environ.pop(v, None)
    n = str(a.threads or os.cpu_count())
    os.environ.update(OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # The process is also pinned to T CPUs, as freezebench's bench programs bind their T
    # threads (FREEZEBENCH_BIND).  (This script once imported NumPy before setting the
    # variables: OpenBLAS then started a pool of 2 threads that PyTorch's GEMMs used with
    # --threads 1, 85 s of user and 25 s of system time in 57 s of wall time.)
    if a.threads and hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, allowed[:a.threads])
    global pytorch_sweep
    import pytorch_sweep
    why = pytorch_sweep.refuse_dirty(revision, a)
    if why:
        print(f"pytorch_finetune: refusing to write a CSV: {why}", file=sys.stderr)
        return 2
    try:
        import numpy  # noqa: F401
        import torch
    except ImportError as e:
        print(f"SKIP: cannot import torch/numpy ({e}); install python3-torch", file=sys.stderr)
        return SKIP
    try:
        described = describe_machine(a.freeze_sweep, dict(os.environ))
    except (OSError, ValueError) as e:
        print(f"pytorch_finetune: cannot describe this machine: {e}; build freeze_sweep "
              f"(ninja -C build) or pass --freeze-sweep", file=sys.stderr)
        return 2
    system = described["machine"]
    threads = a.threads or int(system["cores"])
    a.threads = threads
    output = None
    if not a.no_csv:
        output = a.output or os.path.join(
            "results", f"finetune-pytorch-{system['system_id']}-{threads}.csv")
        if not a.output and os.path.lexists(output):
            dated = pytorch_sweep.free_name(output)
            print(f"pytorch_finetune: {output} exists; this run writes {dated}", file=sys.stderr)
            output = dated
        why = pytorch_sweep.check_output(output, a.overwrite)
        if why:
            print(f"pytorch_finetune: --output: {why}", file=sys.stderr)
            return 2
    try:
        tr, te = load_split(a.data_dir, "train"), load_split(a.data_dir, "t10k")
    except (OSError, ValueError) as e:
        print(f"pytorch_finetune: {e}", file=sys.stderr)
        return 1
    data = [tuple(torch.from_numpy(v) for v in select(*s, lo, hi, lo > 0, lim))
            for lo, hi in ((0, 5), (5, 10)) for s, lim in ((tr, a.limit[0]), (te, a.limit[1]))]
    steps = len(data[2][0]) // a.batch
    if a.evals_per_epoch > steps:   # a part would have no step
        print(f"pytorch_finetune: --evals-per-epoch {a.evals_per_epoch}: more than the "
              f"{steps} steps per epoch ({len(data[2][0])} samples, batch {a.batch})",
              file=sys.stderr)
        return 2
    utc = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    pre_acc, pre_s, runs = run_all(a, torch, data)
    targets(runs, a.target_fraction)
    isa, compiler = torch_build(torch)
    base = {c: system.get(c, "") for c in COLUMNS[:31]}
    base.update(schema_version=SCHEMA, utc_time=utc, isa=isa, compiler=compiler,
                git_revision=revision, threads=threads, bound=0, bench="finetune",
                impl="pytorch", model=",".join(map(str, a.widths)), batch=a.batch, seed=a.seed,
                pretrain_epochs=a.pretrain_epochs, pretrain_accuracy=pre_acc, pretrain_s=pre_s,
                train_samples=len(data[2][0]), test_samples=len(data[3][0]),
                evals_per_epoch=a.evals_per_epoch, target_fraction=a.target_fraction, cache=0)
    rows = []
    for r in runs:
        for e in r["rows"]:
            reached = math.nan if math.isnan(r["target_accuracy"]) else \
                int(e["test_accuracy"] >= r["target_accuracy"])
            row = dict(base, **e, optimizer=r["optimizer"],
                       optimizer_settings=SETTINGS_TEXT[r["optimizer"]],
                       freeze_spec=r["freeze_spec"], freeze_schedule=r["freeze_schedule"],
                       best_accuracy=r["best_accuracy"], target_accuracy=r["target_accuracy"],
                       reached_target=reached, time_to_target_s=r["time_to_target_s"],
                       target_epoch=r["target_epoch"],
                       target_epochs_done=r["target_epochs_done"])
            rows.append({k: pytorch_sweep.num(v) if isinstance(v, (int, float)) else v
                         for k, v in row.items()})
    print("time_s: cumulative training wall time, evaluation excluded; target "
          f"{a.target_fraction} x the best accuracy of none (same optimizer), read at "
          f"{a.evals_per_epoch} evaluation(s) an epoch")
    for r in runs:
        t = r["time_to_target_s"]
        at = "never" if math.isnan(t) else f"{t:.2f} s ({r['target_epochs_done']:.2f} epochs)"
        print(f"  {r['optimizer']:5} {r['freeze_spec']:10} best {r['best_accuracy']:.4f} "
              f"target {at}")
    if output is None:
        return 0
    try:
        pytorch_sweep.write_csv(rows, output, COLUMNS, replace=a.overwrite)
    except pytorch_sweep.runs.WriteError as e:
        print(f"pytorch_finetune: cannot write {e.path}: {e.reason}", file=sys.stderr)
        return 1
    print(f"pytorch_finetune: wrote {len(rows)} rows to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
