#!/usr/bin/python3
"""Freeze schedules and the frozen-prefix cache of `freezebench train` against PyTorch.

usage: /usr/bin/python3 tests/torch_schedule_check.py PATH/TO/freezebench

For each case, PyTorch trains an MLP (fc1..fcL, ReLU between) with a freeze schedule
"E:SPEC,...": at epoch E the parameters SPEC names get requires_grad False and the rest
True, and every parameter that becomes trainable for the first time is added to
torch.optim.SGD (add_param_group: its momentum starts at zero); gradients are cleared
with set_to_none, so a frozen tensor has no gradient and SGD skips it.  freezebench
trains the same schedule from the same IN.npz on the same data (file order, last
partial batch dropped), with and without --cache-frozen.  Checked:
  - trained parameters agree with PyTorch within torch_crosscheck.py's tolerance
    (|fz - torch| <= 1e-5 + 1e-4·|torch|);
  - --cache-frozen gives bitwise the same OUT.npz as without it, and so does a
    --cache-max-bytes too small for the cache (which says it recomputes);
  - a parameter frozen during the first phase is bit-identical to IN.npz after training
    only that phase, and one frozen for the whole schedule after all of it.

Exit status: 0 all agree, 1 a mismatch, 77 (meson's SKIP) without PyTorch/NumPy.
"""
import os
import subprocess
import sys
import tempfile

# The model, the spec semantics, the tolerance and the skip without PyTorch are
# torch_crosscheck.py's: importing it exits 77 where PyTorch or NumPy is missing.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_crosscheck import ATOL, MLP, RTOL, nn, np, state, torch  # noqa: E402
from torch_crosscheck import frozen_names as spec_names  # noqa: E402


def frozen_names(spec, names):
    """The parameters of `names` (fc1.weight, ...) that freeze spec `spec` names."""
    return spec_names(spec, names, len({n.split(".")[0] for n in names}))


def parse_schedule(text):
    """E:SPEC items; an item without an 'E:' head continues the spec before it."""
    entries = []
    for item in text.split(","):
        head, _, rest = item.partition(":")
        if head.isdigit() and rest:
            entries.append((int(head), rest))
        else:
            entries[-1] = (entries[-1][0], entries[-1][1] + "," + item)
    return dict(entries)


def torch_train(model, x, y, batch, epochs, schedule, opt_args):
    names = [n for n, _ in model.named_parameters()]
    params = dict(model.named_parameters())
    opt, in_opt = None, set()
    loss_fn = nn.MSELoss()
    steps = x.shape[0] // batch
    for e in range(epochs):
        if e in schedule:
            frozen = frozen_names(schedule[e], names)
            for n in names:
                params[n].requires_grad = n not in frozen
            new = [params[n] for n in names if n not in frozen and n not in in_opt]
            in_opt |= {n for n in names if n not in frozen}
            if new:
                if opt is None:
                    opt = torch.optim.SGD(new, **opt_args)
                else:
                    opt.add_param_group({"params": new})
        for s in range(steps):
            xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xb), yb).backward()
            opt.step()


def fz_train(exe, tmp, epochs, batch, schedule, opt_args, cache, out, extra=()):
    cmd = [exe, "train", "--model", os.path.join(tmp, "IN.npz"),
           "--data", os.path.join(tmp, "DATA.npz"), "--schedule", schedule,
           "--epochs", str(epochs), "--batch", str(batch), "--lr", repr(opt_args["lr"]),
           "--momentum", repr(opt_args.get("momentum", 0.0)),
           "--weight-decay", repr(opt_args.get("weight_decay", 0.0)), "--out", out]
    if cache:
        cmd.append("--cache-frozen")
    run = subprocess.run(cmd + list(extra), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"freezebench exited {run.returncode}: {run.stderr.strip()}")
    if extra and "recomputing" not in run.stderr:
        raise RuntimeError(f"{extra}: no note that the cache does not fit: {run.stderr!r}")
    return dict(np.load(out))


def run_case(exe, tmp, widths, n, batch, epochs, schedule, opt_args, seed):
    tag = f"widths={widths} N={n} B={batch} epochs={epochs} schedule={schedule}"
    torch.manual_seed(seed)
    model = MLP(widths)
    x, y = torch.randn(n, widths[0]), torch.randn(n, widths[-1])
    initial = state(model)
    np.savez(os.path.join(tmp, "IN.npz"), **initial)
    np.savez(os.path.join(tmp, "DATA.npz"), x=x.numpy(), y=y.numpy())
    sched = parse_schedule(schedule)
    torch_train(model, x, y, batch, epochs, sched, opt_args)
    ref = state(model)
    problems = []
    try:
        plain = fz_train(exe, tmp, epochs, batch, schedule, opt_args, False,
                         os.path.join(tmp, "PLAIN.npz"))
        cached = fz_train(exe, tmp, epochs, batch, schedule, opt_args, True,
                          os.path.join(tmp, "CACHED.npz"))
        capped = fz_train(exe, tmp, epochs, batch, schedule, opt_args, True,
                          os.path.join(tmp, "CAPPED.npz"), ("--cache-max-bytes", "64"))
        # The first phase alone: its entries only, since freezebench refuses an entry
        # at or past --epochs (it would never apply).
        first = min(e for e in sched if e > 0)
        phase1_schedule = ",".join(f"{e}:{sched[e]}" for e in sorted(sched) if e < first)
        phase1 = fz_train(exe, tmp, first, batch, phase1_schedule, opt_args, True,
                          os.path.join(tmp, "PHASE1.npz"))
    except RuntimeError as e:
        return [f"{tag}: {e}"]
    worst = 0.0
    always = set(initial)
    for e in sched:
        always &= frozen_names(sched[e], list(initial))
    for name in ref:
        if plain[name].tobytes() != cached[name].tobytes():
            problems.append(f"{tag}: {name} differs with --cache-frozen")
        if plain[name].tobytes() != capped[name].tobytes():
            problems.append(f"{tag}: {name} differs with a cache over its cap")
        err = np.max(np.abs(plain[name] - ref[name]) / (ATOL + RTOL * np.abs(ref[name])))
        worst = max(worst, float(err))
        if err > 1:
            problems.append(f"{tag}: {name} differs from PyTorch by {err:.2f} of the tolerance")
        if name in always and plain[name].tobytes() != initial[name].tobytes():
            problems.append(f"{tag}: {name}, frozen throughout, changed")
        if name in frozen_names(sched[0], list(initial)) and \
                phase1[name].tobytes() != initial[name].tobytes():
            problems.append(f"{tag}: {name} changed while frozen in the first phase")
    print(f"{'ok  ' if not problems else 'FAIL'} {tag}: worst error {worst:.3f} of tolerance")
    return problems


def main():
    if len(sys.argv) != 2:
        print("usage: torch_schedule_check.py PATH/TO/freezebench", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    heavy = {"lr": 0.02, "momentum": 0.9, "weight_decay": 1e-3}
    cases = [
        ([8, 16, 16, 16, 16, 4], 96, 16, 6, "0:prefix:4,2:prefix:2,4:none", heavy),
        ([8, 16, 16, 16, 16, 4], 90, 20, 6, "0:prefix:3,2:prefix:1,4:none", {"lr": 0.05}),
        ([12, 32, 24, 16, 3], 90, 16, 6, "0:prefix:2,fc3.bias,3:fc1.*", heavy),
    ]
    problems = []
    with tempfile.TemporaryDirectory(prefix="fz_schedule_") as tmp:
        for i, case in enumerate(cases):
            problems += run_case(sys.argv[1], tmp, *case, seed=100 + i)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
