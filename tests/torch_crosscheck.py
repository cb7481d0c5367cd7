#!/usr/bin/python3
"""Cross-check `freezebench train` against PyTorch.

usage: /usr/bin/python3 tests/torch_crosscheck.py PATH/TO/freezebench

For several architectures, freeze specs and SGD settings, PyTorch initialises an MLP
(fc1..fcL, ReLU between), writes its state_dict to IN.npz and random data to DATA.npz
in a temporary directory, then both train from those parameters on those data with the
same mini-batches (in file order, last partial batch dropped), MSELoss(mean) and
torch.optim.SGD over the trainable parameters.  The trained parameters must agree:

    |fz - torch| <= ATOL + RTOL * |torch|   elementwise, RTOL = 1e-4, ATOL = 1e-5

Why this tolerance: both sides compute in float32 but sum in different orders (our
GEMM's K loop, the bias/db reductions), so each step differs by a few float32 ulps
(~1e-7 relative) and the differences compound over the 40-100 steps run here; the
drift we observe stays below 1% of the tolerance (the script prints each case's worst
error as a fraction of it), while a single SGD update moves parameters by far more:
every case also checks that stopping PyTorch one step early falls *outside*
the tolerance, so the comparison can tell a step apart.  Frozen parameters must be
bit-identical to IN.npz.  The printed epoch losses must match PyTorch's epoch means
to the 4 printed decimals.

Exit status: 0 all cases agree, 1 a mismatch, 77 (meson's SKIP) when PyTorch or NumPy
cannot be imported — never a silent pass.
"""
import os
import re
import subprocess
import sys
import tempfile

SKIP = 77
RTOL, ATOL = 1e-4, 1e-5

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from sweep_setup import frozen_names  # noqa: E402,F401  (fz_freeze's reading of a spec)

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:  # a visible skip, not a pass
    print(f"SKIP: cannot import PyTorch/NumPy ({e}); install python3-torch python3-numpy")
    sys.exit(SKIP)


class MLP(nn.Module):
    """fc1..fcL with ReLU between them: the state_dict names freezebench uses."""

    def __init__(self, widths, bias=True):
        super().__init__()
        self.n = len(widths) - 1
        for i in range(self.n):
            setattr(self, f"fc{i + 1}", nn.Linear(widths[i], widths[i + 1], bias=bias))

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f"fc{i + 1}")(x)
            if i + 1 < self.n:
                x = torch.relu(x)
        return x


def torch_train(model, x, y, batch, epochs, opt_args, stop_early=0):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, **opt_args)
    loss_fn = nn.MSELoss()
    steps = x.shape[0] // batch
    total = epochs * steps - stop_early
    epoch_losses, done = [], 0
    for _ in range(epochs):
        losses = []
        for s in range(steps):
            if done == total:
                return epoch_losses
            xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            done += 1
        epoch_losses.append(sum(losses) / len(losses))
    return epoch_losses


def state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def within(a, b):
    return np.all(np.abs(a - b) <= ATOL + RTOL * np.abs(b))


def run_case(exe, tmp, widths, n, batch, epochs, spec, opt_args, seed):
    tag = f"widths={widths} N={n} B={batch} epochs={epochs} spec={spec} sgd={opt_args}"
    torch.manual_seed(seed)
    model = MLP(widths)
    x = torch.randn(n, widths[0])
    y = torch.randn(n, widths[-1])
    initial = state(model)
    np.savez(os.path.join(tmp, "IN.npz"), **initial)
    np.savez(os.path.join(tmp, "DATA.npz"), x=x.numpy(), y=y.numpy())

    frozen = frozen_names(spec, list(initial), len(widths) - 1)
    for name, p in model.named_parameters():
        p.requires_grad = name not in frozen
    twin = MLP(widths)
    twin.load_state_dict(model.state_dict())
    for name, p in twin.named_parameters():
        p.requires_grad = name not in frozen
    torch_losses = torch_train(model, x, y, batch, epochs, opt_args)
    ref = state(model)
    torch_train(twin, x, y, batch, epochs, opt_args, stop_early=1)
    one_step_short = state(twin)

    out = os.path.join(tmp, "OUT.npz")
    if os.path.exists(out):
        os.unlink(out)
    cmd = [exe, "train", "--model", os.path.join(tmp, "IN.npz"),
           "--data", os.path.join(tmp, "DATA.npz"), "--freeze", spec,
           "--epochs", str(epochs), "--batch", str(batch), "--lr", repr(opt_args["lr"]),
           "--momentum", repr(opt_args.get("momentum", 0.0)),
           "--weight-decay", repr(opt_args.get("weight_decay", 0.0)),
           "--log-every", "1", "--out", out]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        return [f"{tag}: freezebench exited {run.returncode}: {run.stderr.strip()}"]
    got = dict(np.load(out))
    problems = []
    if set(got) != set(ref):
        return [f"{tag}: OUT.npz holds {sorted(got)}, expected {sorted(ref)}"]
    worst = 0.0
    for name in ref:
        if got[name].dtype != np.float32 or got[name].shape != ref[name].shape:
            problems.append(f"{tag}: {name} is {got[name].dtype}{got[name].shape}")
            continue
        if name in frozen:
            if got[name].tobytes() != initial[name].tobytes():
                problems.append(f"{tag}: frozen {name} changed")
            continue
        err = np.max(np.abs(got[name] - ref[name]) / (ATOL + RTOL * np.abs(ref[name])))
        worst = max(worst, float(err))
        if not within(got[name], ref[name]):
            problems.append(f"{tag}: {name} differs from PyTorch: max |diff| "
                            f"{np.max(np.abs(got[name] - ref[name])):.3g}")
    if all(within(one_step_short[k], ref[k]) for k in ref if k not in frozen):
        problems.append(f"{tag}: the tolerance cannot tell the last step apart; "
                        "the case proves nothing")
    printed = [float(v) for v in re.findall(r"Epoch \[\d+/\d+\], Loss: ([-0-9.]+)", run.stdout)]
    if len(printed) != epochs:
        problems.append(f"{tag}: {len(printed)} loss lines for {epochs} epochs")
    else:
        for e, (p, t) in enumerate(zip(printed, torch_losses), 1):
            if abs(p - t) > 1.5e-4 + 1e-4 * abs(t):
                problems.append(f"{tag}: epoch {e} loss {p} vs PyTorch {t:.6f}")
                break
    print(f"{'ok  ' if not problems else 'FAIL'} {tag}: worst error {worst:.3f} of tolerance")
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    exe = sys.argv[1]
    torch.set_num_threads(1)
    plain = {"lr": 0.05}
    heavy = {"lr": 0.02, "momentum": 0.9, "weight_decay": 1e-3}
    specs = ["none", "prefix:1", "prefix:2", "fc2.weight", "bitfit", "last"]
    cases = []
    # the seed: 10 -> 5 -> 1, full batch of 64, 100 epochs, lr 0.01, fc1 frozen
    for spec in ["fc1.*", "none"]:
        for opt in [{"lr": 0.01}, heavy]:
            cases.append(([10, 5, 1], 64, 64, 100, spec, opt))
    for spec in specs:
        for opt in [plain, heavy]:
            cases.append(([8, 16, 16, 4], 96, 16, 10, spec, opt))
            # 90 samples in batches of 20: the last 10 are dropped every epoch
            cases.append(([12, 32, 24, 16, 3], 90, 20, 15, spec, opt))
    problems = []
    with tempfile.TemporaryDirectory(prefix="fz_crosscheck_") as tmp:
        for i, (widths, n, batch, epochs, spec, opt) in enumerate(cases):
            problems += run_case(exe, tmp, widths, n, batch, epochs, spec, opt, seed=1000 + i)
    for p in problems:
        print("FAIL", p)
    print(f"{len(cases)} cases, {len(problems)} problems (rtol {RTOL}, atol {ATOL})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
