"""What bench/pytorch_sweep.py and bench/step_vs_pytorch.py share with the C sweep without
PyTorch: the machine as `freeze_sweep --machine` describes it (and the environment that
lets OpenBLAS choose its own core), the models and freeze specs as bench/sweep/sweep_args.c and
src/model/freeze.c read them, and the FLOPs the C plan counts for them.  Split from
pytorch_sweep.py so that each file holds one concern; pytorch_sweep.py re-exports every
name here.
"""
import csv
import fnmatch
import json
import os
import re
import subprocess

NA = "NA"                 # a value this script cannot know (README: never an empty field)
MAX_WIDTHS = 64           # FZB_SWEEP_MAX_WIDTHS


# ---- the machine, as the C side describes it ----------------------------------------------

# The variables that override OpenBLAS's own choice of kernel; it reads them once, when it
# loads, so they can only be removed from a process before it starts.
OPENBLAS_CORE_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def blas_env(own_choice):
    """The environment the measuring children and the machine query run with: this
    process's, less OPENBLAS_CORE_VARS when OpenBLAS is to pick its own core.  A copy:
    this process's environment is never changed."""
    env = dict(os.environ)
    if own_choice:
        for v in OPENBLAS_CORE_VARS:
            env.pop(v, None)
    return env


def describe_machine(freeze_sweep, env):
    """`freeze_sweep --machine`: the schema's version and columns and the system description
    (CPUID-decoded microarchitecture, caches from hwloc/sysfs/CPUID, the OpenBLAS core
    this environment picks).  Run with the children's environment (`env`), so the
    OpenBLAS core is the one PyTorch's OpenBLAS picks in them."""
    run = subprocess.run([freeze_sweep, "--machine"], capture_output=True, text=True,
                         env=env)
    if run.returncode != 0:
        raise OSError(f"{freeze_sweep} --machine failed: {run.stderr.strip()}")
    return json.loads(run.stdout)


def git_revision():
    """The checkout's revision as scripts/git-revision.sh gives it to the C programs
    (-dirty for changed code, not for CSVs under results/); "unknown" outside git."""
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        script = os.path.join(here, os.pardir, "scripts", "git-revision.sh")
        return subprocess.run(["sh", script], capture_output=True, text=True,
                              check=True).stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def torch_build(torch):
    isa, comp = "unknown", "unknown compiler"
    for line in torch.__config__.show().splitlines():
        line = line.strip(" -")
        if line.startswith("CPU capability usage:"):
            isa = line.split(":", 1)[1].strip().lower()
        elif line.startswith("GCC") or line.startswith("clang"):
            comp = line
    blas = "unknown"
    for cand in ("/usr/lib/x86_64-linux-gnu/libblas.so.3",
                 "/usr/lib/aarch64-linux-gnu/libblas.so.3"):
        if os.path.exists(cand):
            blas = os.path.realpath(cand)
    return isa, f"pytorch {torch.__version__} ({comp}; BLAS {blas})"


def machine_limits(path, system_id):
    """Per-core FMA peak and one-thread bandwidth from a freeze_sweep or kernel_bench CSV
    of this CPU.  Its peak_gflops is per core × threads, except in ReLU/SGD kernel rows
    (× 1)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        try:
            peak, bw = float(r["peak_gflops"]), float(r["bandwidth_gbytes_per_s"])
            threads = int(r["threads"])
        except (KeyError, ValueError):
            continue
        if r.get("system_id") != system_id:
            raise ValueError(f"it was measured on '{r.get('system_id', 'an unnamed system')}', "
                             f"this system is '{system_id}'")
        if r["bench"] == "freeze_sweep" or r["phase"].startswith("sgemm"):
            peak /= threads
        return peak, bw, r.get("peak_isa") or NA
    raise ValueError("no row has peak_gflops, bandwidth_gbytes_per_s and threads")


# ---- models and freeze specs, as bench/sweep/sweep_args.c and src/model/freeze.c read them ---

def parse_model(text):
    """'10,5,1@64' -> ('10,5,1', [10, 5, 1], 64); ValueError as freeze_sweep refuses."""
    name, at, batch = text.partition("@")
    if at and not re.fullmatch(r"[0-9]+", batch) or at and not 1 <= int(batch) <= 1 << 20:
        raise ValueError(f"the batch after @ must be a whole number from 1 to {1 << 20}")
    widths = []
    for item in name.split(","):
        m = re.fullmatch(r"([0-9]+)(?:x([0-9]+))?", item)
        if not m or not 1 <= int(m.group(1)) <= 1 << 16 \
                or m.group(2) and not 1 <= int(m.group(2)) <= MAX_WIDTHS:
            raise ValueError(f"'{item}' is not a width W (1 to {1 << 16}) or WxR (R copies, "
                             f"1 to {MAX_WIDTHS})")
        widths += [int(m.group(1))] * int(m.group(2) or 1)
    if len(widths) > MAX_WIDTHS:
        raise ValueError(f"more than {MAX_WIDTHS} widths")
    if len(widths) < 2:
        raise ValueError("a model needs at least two widths (inputs and outputs)")
    return name, widths, int(batch) if at else 64


def default_specs(layers):
    """freeze_sweep's specs for a model of `layers` layers when no --spec is given
    (bench/sweep/sweep_args.c fzb_default_specs): none; frozen prefixes at a quarter, half and
    three quarters of the depth and all but the last layer, each once; the middle layer
    alone and `last` where they differ from a prefix (4 layers or more); bitfit."""
    specs, last_cut = ["none"], 0
    if layers >= 2:
        for k in (layers // 4, layers // 2, 3 * layers // 4, layers - 1):
            if k > last_cut:          # ascending, so "no repeats" is "more than the last"
                specs.append(f"prefix:{k}")
                last_cut = k
    if layers >= 4:
        specs += [f"fc{layers // 2}.*", "last"]
    return specs + ["bitfit"]


def check_spec(spec):
    for item in spec.split(","):
        if not item or item.startswith("prefix:") and not re.fullmatch(r"prefix:[0-9]+", item):
            raise ValueError(f"'{item}' is not a freeze spec item")


def frozen_names(spec, names, n_layers):
    """The parameters a freeze spec names, as fz_freeze reads it; None if it does not
    apply to this model (prefix past the layers, a glob matching nothing)."""
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


def fit(spec, widths):
    """(frozen names, None) where the spec fits the model and leaves something to train,
    else (None, why): the C sweep skips such a spec for that model."""
    L = len(widths) - 1
    names = [f"fc{i + 1}.{k}" for i in range(L) for k in ("weight", "bias")]
    frozen = frozen_names(spec, names, L)
    if frozen is None:
        return None, "does not fit it"
    if len(frozen) == len(names):
        return None, "freezes every parameter: nothing to train"
    return frozen, None


def planned_flops(widths, batch, frozen, momentum, weight_decay):
    """Per phase, ../DESIGN.md's conventions, the plan of src/train/plan.c; `dgrad` and `wgrad`
    split the backward."""
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
    return dict(forward=f["fwd"], backward=dgrad + wgrad, optimizer=f["opt"],
                step=f["fwd"] + dgrad + wgrad + f["opt"], dgrad=dgrad, wgrad=wgrad)
