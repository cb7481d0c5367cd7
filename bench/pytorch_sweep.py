#!/usr/bin/python3
"""The freeze sweep in PyTorch, written in the results CSV schema (version 1) with
impl = pytorch, so results/ compares freezebench and PyTorch side by side.

usage: /usr/bin/python3 bench/pytorch_sweep.py [--threads 1,2] [--models 10-5-1:64,8x1024:256]
           [--specs none,prefix:2,...] [--min-time 1.0] [--peak-gflops G] [--out FILE.csv]

Each thread count runs in a fresh child process with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
and MKL_NUM_THREADS set before torch is imported (the BLAS thread pools read them once)
and torch.set_num_threads(N).

Models: "A-B-C" is an MLP with those widths (10-5-1 is the seed's SimpleNet);
"LxW" is L Linear layers of W -> W (8x1024: widths 1024 x 9).  ":B" gives the batch.
A freeze spec that does not apply to a model (prefix:K with K >= layers, or a glob
matching nothing) or that leaves nothing to train is skipped, and said so on stderr.

Per configuration, after warm-up steps, each repetition times with time.perf_counter:
    fwd  = forward + MSELoss;  bwd = loss.backward();  opt = optimizer.step();
    step = the three together (zero_grad(set_to_none=True) precedes each step, untimed).
SGD: lr 0.01, momentum 0.9, weight decay 0 — set with --momentum/--weight-decay.

The CSV columns follow the schema exactly; what PyTorch cannot give is written "NA":
    flops_planned    DESIGN.md's analytic count from the backward plan (what autograd
                     computes for these requires_grad flags is the same work);
    flops_executed   NA: PyTorch has no per-kernel FLOP counter;
    dgrad, wgrad     rows carry flops_planned, but their times, gflops and time_cut are
                     NA: autograd runs both inside one backward() call;
    peak_fraction    gflops / --peak-gflops if given (take the peak the C kernel bench
                     probed on this host), else NA;
    activation_bytes bytes of the distinct non-parameter tensors autograd saved for the
                     backward (torch.autograd.graph.saved_tensors_hooks), which includes
                     the MSE loss's saved prediction and target;
    isa              the CPU capability PyTorch reports (e.g. avx2);
    compiler         torch version, its compiler and the BLAS library it called.

Exit status: 0 written, 1 a failure, 77 torch missing (meson's SKIP).
"""
import argparse
import csv
import datetime
import glob
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

COLUMNS = ("schema_version,utc_time,host,cpu_model,arch,isa,cores,threads,l1d_bytes,"
           "l2_bytes,l3_bytes,compiler,git_rev,impl,model,batch,freeze_spec,"
           "trainable_params,frozen_params,phase,flops_planned,flops_executed,time_min_s,"
           "time_median_s,time_max_s,repetitions,gflops,peak_fraction,flop_cut,time_cut,"
           "activation_bytes").split(",")
PHASES = ["fwd", "bwd", "dgrad", "wgrad", "opt", "step"]
DEFAULT_SPECS = "none,prefix:2,prefix:4,prefix:6,prefix:7,fc4.*,last,bitfit"
NA = "NA"


# ---- the machine ---------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or NA


def physical_cores():
    cores = set()
    for path in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/topology"):
        try:
            with open(path + "/physical_package_id") as a, open(path + "/core_id") as b:
                cores.add((a.read().strip(), b.read().strip()))
        except OSError:
            pass
    return len(cores) or os.cpu_count()


def cache_bytes():
    sizes = {}
    for idx in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        try:
            level = open(idx + "/level").read().strip()
            kind = open(idx + "/type").read().strip()
            size = open(idx + "/size").read().strip()
        except OSError:
            continue
        mult = {"K": 1024, "M": 1024 ** 2}.get(size[-1], 1)
        value = int(size.rstrip("KM")) * mult
        if kind in ("Data", "Unified"):
            sizes[level] = value
    return sizes.get("1", NA), sizes.get("2", NA), sizes.get("3", NA)


def git_rev():
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return NA


def torch_build(torch):
    cfg = torch.__config__.show()
    isa, comp = NA, NA
    for line in cfg.splitlines():
        line = line.strip(" -")
        if line.startswith("CPU capability usage:"):
            isa = line.split(":", 1)[1].strip().lower()
        elif line.startswith("GCC") or line.startswith("clang"):
            comp = line
    blas = NA
    for cand in ("/usr/lib/x86_64-linux-gnu/libblas.so.3", "/usr/lib/aarch64-linux-gnu/libblas.so.3"):
        if os.path.exists(cand):
            blas = os.path.realpath(cand)
    return isa, f"torch {torch.__version__} ({comp}; BLAS {blas})"


# ---- the plan and its FLOPs (DESIGN.md) ------------------------------------------------

def parse_model(text):
    name, _, batch = text.partition(":")
    if "x" in name:
        layers, width = (int(v) for v in name.split("x"))
        widths = [width] * (layers + 1)
    else:
        widths = [int(v) for v in name.split("-")]
    return name, widths, int(batch or 64)


def frozen_names(spec, names, n_layers):
    """The parameters a freeze spec names, as fz_freeze reads it; None if it does not
    apply to this model (prefix past the layers, a glob matching nothing)."""
    import fnmatch
    out = set()
    layer = lambda n: int(n[2:n.index(".")])
    for item in spec.split(","):
        if item == "none":
            continue
        if item.startswith("prefix:"):
            k = int(item[7:])
            if k > n_layers:
                return None
            out |= {n for n in names if layer(n) <= k}
        elif item == "last":
            out |= {n for n in names if layer(n) < n_layers}
        elif item == "bitfit":
            out |= {n for n in names if n.endswith(".weight")}
        else:
            hit = set(fnmatch.filter(names, item))
            if not hit:
                return None
            out |= hit
    return out


def planned_flops(widths, batch, frozen, momentum, weight_decay):
    """Per phase, DESIGN.md's conventions, the plan of src/plan.c."""
    L = len(widths) - 1
    B = float(batch)
    f = dict(fwd=0.0, loss_bwd=0.0, dX=0.0, relu_bwd=0.0, dW=0.0, db=0.0, opt=0.0)
    up = False
    per_param = 2 + (2 if momentum else 0) + (2 if weight_decay else 0)
    for l in range(L):
        I, O = widths[l], widths[l + 1]
        need_dW = f"fc{l + 1}.weight" not in frozen
        need_db = f"fc{l + 1}.bias" not in frozen
        f["fwd"] += 2 * B * I * O + B * O + (B * O if l + 1 < L else 0)
        if need_dW:
            f["dW"] += 2 * B * I * O
            f["opt"] += per_param * I * O
        if need_db:
            f["db"] += B * O
            f["opt"] += per_param * O
        if up:
            f["dX"] += 2 * B * I * O
            f["relu_bwd"] += B * I
        up = up or need_dW or need_db
    out = B * widths[-1]
    f["fwd"] += 3 * out
    f["loss_bwd"] = 2 * out if up else 0.0
    dgrad = f["loss_bwd"] + f["dX"] + f["relu_bwd"]
    wgrad = f["dW"] + f["db"]
    return dict(fwd=f["fwd"], bwd=dgrad + wgrad, dgrad=dgrad, wgrad=wgrad, opt=f["opt"],
                step=f["fwd"] + dgrad + wgrad + f["opt"])


# ---- one thread count, in its own process ----------------------------------------------

def measure(args, threads):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    isa, compiler = torch_build(torch)
    l1d, l2, l3 = cache_bytes()
    machine = dict(schema_version=1, host=socket.gethostname(), cpu_model=cpu_model(),
                   arch=platform.machine(), isa=isa, cores=physical_cores(),
                   threads=torch.get_num_threads(), l1d_bytes=l1d, l2_bytes=l2,
                   l3_bytes=l3, compiler=compiler, git_rev=git_rev(), impl="pytorch")
    rows = []
    for model_text in args.models.split(","):
        name, widths, batch = parse_model(model_text)
        L = len(widths) - 1
        for spec in args.specs.split(","):
            torch.manual_seed(0)
            layers = nn.ModuleDict({f"fc{i + 1}": nn.Linear(widths[i], widths[i + 1])
                                    for i in range(L)})
            names = [f"fc{i + 1}.{k}" for i in range(L) for k in ("weight", "bias")]
            frozen = frozen_names(spec, names, L)
            if frozen is None or len(frozen) == len(names):
                why = "does not apply" if frozen is None else "leaves nothing to train"
                print(f"pytorch_sweep: skip {name} {spec}: {why}", file=sys.stderr)
                continue
            params = dict(layers.named_parameters())
            for n in names:
                params[n].requires_grad = n not in frozen

            def forward(x):
                for i in range(L):
                    x = layers[f"fc{i + 1}"](x)
                    if i + 1 < L:
                        x = torch.relu(x)
                return x

            x = torch.randn(batch, widths[0])
            y = torch.randn(batch, widths[-1])
            loss_fn = nn.MSELoss()
            opt = torch.optim.SGD([p for p in params.values() if p.requires_grad],
                                  lr=0.01, momentum=args.momentum,
                                  weight_decay=args.weight_decay)
            param_ptrs = {p.data_ptr() for p in params.values()}
            saved = {}

            def pack(t):
                if t.data_ptr() not in param_ptrs:
                    saved[t.data_ptr()] = t.numel() * t.element_size()
                return t

            def one_step(record_saved=False):
                opt.zero_grad(set_to_none=True)
                t0 = time.perf_counter()
                if record_saved:
                    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                        loss = loss_fn(forward(x), y)
                else:
                    loss = loss_fn(forward(x), y)
                t1 = time.perf_counter()
                loss.backward()
                t2 = time.perf_counter()
                opt.step()
                t3 = time.perf_counter()
                return t1 - t0, t2 - t1, t3 - t2, t3 - t0

            one_step(record_saved=True)
            activation_bytes = sum(saved.values())
            warm = [one_step() for _ in range(3)]
            reps = max(args.min_reps, min(args.max_reps,
                                          int(args.min_time / max(1e-9, min(w[3] for w in warm)))))
            times = [one_step() for _ in range(reps)]
            flops = planned_flops(widths, batch, frozen, args.momentum, args.weight_decay)
            trainable = sum(p.numel() for p in params.values() if p.requires_grad)
            frozen_n = sum(p.numel() for p in params.values() if not p.requires_grad)
            measured = {"fwd": 0, "bwd": 1, "opt": 2, "step": 3}
            for phase in PHASES:
                row = dict(machine, utc_time=datetime.datetime.now(datetime.timezone.utc)
                           .strftime("%Y-%m-%dT%H:%M:%SZ"), model=name, batch=batch,
                           freeze_spec=spec, trainable_params=trainable,
                           frozen_params=frozen_n, phase=phase,
                           flops_planned=f"{flops[phase]:.0f}", flops_executed=NA,
                           repetitions=reps, activation_bytes=activation_bytes,
                           flop_cut=NA, time_cut=NA)
                if phase in measured:
                    ts = [t[measured[phase]] for t in times]
                    med = statistics.median(ts)
                    row.update(time_min_s=f"{min(ts):.9f}", time_median_s=f"{med:.9f}",
                               time_max_s=f"{max(ts):.9f}",
                               gflops=f"{flops[phase] / med / 1e9:.4f}" if med > 0 else NA)
                    row["peak_fraction"] = (f"{flops[phase] / med / 1e9 / args.peak_gflops:.4f}"
                                            if args.peak_gflops and med > 0 else NA)
                else:
                    row.update(time_min_s=NA, time_median_s=NA, time_max_s=NA, gflops=NA,
                               peak_fraction=NA)
                rows.append(row)
    add_cuts(rows)
    return rows


def add_cuts(rows):
    """flop_cut and time_cut: 1 - value/value(none) of the same model, batch, threads,
    phase; NA where there is no 'none' row or it is zero or not measured."""
    base = {(r["model"], r["batch"], r["threads"], r["phase"]): r
            for r in rows if r["freeze_spec"] == "none"}
    for r in rows:
        b = base.get((r["model"], r["batch"], r["threads"], r["phase"]))
        if not b:
            continue
        if float(b["flops_planned"]) > 0:
            r["flop_cut"] = f"{1 - float(r['flops_planned']) / float(b['flops_planned']):.4f}"
        if r["time_median_s"] != NA and b["time_median_s"] != NA:
            r["time_cut"] = f"{1 - float(r['time_median_s']) / float(b['time_median_s']):.4f}"


# ---- driver ------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--models", default="10-5-1:64,8x1024:256")
    ap.add_argument("--specs", default=DEFAULT_SPECS)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--min-time", type=float, default=1.0,
                    help="seconds of timed steps per configuration (default 1)")
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=2000)
    ap.add_argument("--peak-gflops", type=float, default=0.0)
    ap.add_argument("--out", default=None, help="CSV file (default: stdout)")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        json.dump(measure(args, args.child), sys.stdout)
        return 0
    try:
        import torch  # noqa: F401  (only to fail early, and visibly, without it)
    except ImportError as e:
        print(f"SKIP: cannot import torch ({e}); install python3-torch", file=sys.stderr)
        return 77

    rows = []
    for n in (int(t) for t in args.threads.split(",")):
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n),
                   MKL_NUM_THREADS=str(n))
        argv = [sys.executable, os.path.abspath(__file__), "--child", str(n)]
        for k in ("models", "specs", "momentum", "weight_decay", "min_time", "min_reps",
                  "max_reps", "peak_gflops"):
            argv += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
        run = subprocess.run(argv, env=env, stdout=subprocess.PIPE)
        if run.returncode != 0:
            print(f"pytorch_sweep: the {n}-thread run failed", file=sys.stderr)
            return 1
        rows += json.loads(run.stdout)

    print(f"{'model':>8} {'batch':>5} {'thr':>3} {'spec':>9} {'fwd ms':>9} {'bwd ms':>9} "
          f"{'opt ms':>9} {'step ms':>9} {'min':>9} {'max':>9}", file=sys.stderr)
    for r in rows:
        if r["phase"] == "step":
            by = {q["phase"]: q for q in rows if (q["model"], q["threads"], q["freeze_spec"])
                  == (r["model"], r["threads"], r["freeze_spec"])}
            ms = lambda p, c="time_median_s": f"{float(by[p][c]) * 1e3:9.3f}"
            print(f"{r['model']:>8} {r['batch']:>5} {r['threads']:>3} {r['freeze_spec']:>9} "
                  f"{ms('fwd')} {ms('bwd')} {ms('opt')} {ms('step')} "
                  f"{ms('step', 'time_min_s')} {ms('step', 'time_max_s')}", file=sys.stderr)

    for r in rows:   # the schema has no empty cells: a missing figure is "NA"
        empty = [c for c in COLUMNS if str(r.get(c, "")) == ""]
        if empty:
            print(f"pytorch_sweep: row {r['model']} {r['freeze_spec']} {r['phase']} has no "
                  f"{', '.join(empty)}", file=sys.stderr)
            return 1
    if not rows:
        print("pytorch_sweep: no configuration applied; nothing measured", file=sys.stderr)
        return 1
    if args.out:
        d = os.path.dirname(os.path.abspath(args.out))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".pytorch_sweep.", suffix=".csv")
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)
        os.chmod(tmp, 0o644)
        os.replace(tmp, args.out)   # whole or not at all
    else:
        w = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
