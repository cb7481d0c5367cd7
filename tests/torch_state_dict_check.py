#!/usr/bin/python3
"""Any MLP's state_dict through `freezebench train` and back into PyTorch.

usage: /usr/bin/python3 tests/torch_state_dict_check.py PATH/TO/freezebench

Models: an nn.Sequential (0.weight, 0.bias, 2.weight, ... with a bias-free Linear in the
middle), a model of bias-free layers only, a module whose Linear layers are
registered out of forward order with an extra float32 buffer (needs --map and
--ignore-unknown; refused, naming what is missing, without them), and modules whose
layers are named like the library's own fcK (fc0, fc1, fc2 of 10 -> 8 -> 8 -> 3, with a
--map and without; fc2 and fc3 without fc1), where a freeze glob must mean the
archive's names only, as in PyTorch.  For each, freezebench
trains the state_dict written by np.savez, and the result must
  - load into a fresh model with load_state_dict(strict=True) (the archive keeps the
    user's names, buffers included),
  - agree with PyTorch training the same (torch_crosscheck.py's tolerance), frozen
    tensors and buffers bit-identical.

Refused, saying why and writing nothing: a model with a BatchNorm layer (its int64
num_batches_tracked and all), --ignore-unknown or not, and a --map that names one
prefix twice.

Exit status: 0 all agree, 1 a mismatch, 77 (meson's SKIP) without PyTorch/NumPy.
"""
import os
import subprocess
import sys
import tempfile

SKIP = 77
RTOL, ATOL = 1e-4, 1e-5

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    print(f"SKIP: cannot import PyTorch/NumPy ({e})")
    sys.exit(SKIP)


def sequential():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 12, bias=False),
                         nn.ReLU(), nn.Linear(12, 4))


def no_bias():
    return nn.Sequential(nn.Linear(8, 16, bias=False), nn.ReLU(),
                         nn.Linear(16, 4, bias=False))


class OutOfOrder(nn.Module):
    """Registered head first, with a buffer: archive order is not forward order."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(12, 4)
        self.inp = nn.Linear(8, 16, bias=False)
        self.mid = nn.Linear(16, 12)
        self.register_buffer("scale", torch.linspace(0.5, 1.5, 3))

    def forward(self, x):
        return self.head(torch.relu(self.mid(torch.relu(self.inp(x)))))


class FcNamed(nn.Module):
    """Layers named like the library's own, from fc0, and not square: 10 -> 8 -> 8 -> 3."""
    IN, OUT = 10, 3

    def __init__(self):
        super().__init__()
        self.fc0, self.fc1, self.fc2 = nn.Linear(10, 8), nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(torch.relu(self.fc0(x)))))


class Fc2Fc3(nn.Module):
    """fc2 and fc3 without fc1."""

    def __init__(self):
        super().__init__()
        self.fc2, self.fc3 = nn.Linear(8, 16), nn.Linear(16, 4)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(x)))


def batchnorm():
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))


def torch_train(model, x, y, batch, epochs, frozen, opt_args):
    for n, p in model.named_parameters():
        p.requires_grad = n not in frozen
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], **opt_args)
    steps = x.shape[0] // batch
    for _ in range(epochs):
        for s in range(steps):
            opt.zero_grad(set_to_none=True)
            nn.MSELoss()(model(x[s * batch:(s + 1) * batch]),
                         y[s * batch:(s + 1) * batch]).backward()
            opt.step()


def fz(exe, tmp, extra, epochs, batch, opt_args):
    out = os.path.join(tmp, "OUT.npz")
    if os.path.exists(out):
        os.unlink(out)
    cmd = [exe, "train", "--model", os.path.join(tmp, "IN.npz"),
           "--data", os.path.join(tmp, "DATA.npz"), "--epochs", str(epochs),
           "--batch", str(batch), "--lr", repr(opt_args["lr"]),
           "--momentum", repr(opt_args["momentum"]), "--out", out] + extra
    run = subprocess.run(cmd, capture_output=True, text=True)
    return run, out


def run_case(exe, tmp, make, extra, freeze, refusals, seed):
    tag = f"{make.__name__} {' '.join(extra)} --freeze {freeze}"
    torch.manual_seed(seed)
    model = make()
    x, y = torch.randn(60, getattr(make, "IN", 8)), torch.randn(60, getattr(make, "OUT", 4))
    initial = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    np.savez(os.path.join(tmp, "IN.npz"), **initial)
    np.savez(os.path.join(tmp, "DATA.npz"), x=x.numpy(), y=y.numpy())
    opt_args = {"lr": 0.02, "momentum": 0.9}
    problems = []
    for args, why in refusals:
        run, _ = fz(exe, tmp, args + ["--freeze", freeze], 3, 16, opt_args)
        if run.returncode != 1 or why not in run.stderr:
            problems.append(f"{tag}: with {args} expected a refusal naming {why!r}, got "
                            f"exit {run.returncode}: {run.stderr.strip()}")
    run, out = fz(exe, tmp, extra + ["--freeze", freeze], 3, 16, opt_args)
    if run.returncode != 0:
        return problems + [f"{tag}: freezebench exited {run.returncode}: {run.stderr.strip()}"]
    frozen = {n for n, _ in model.named_parameters()
              if freeze != "none" and any(n.startswith(p.rstrip("*")) for p in freeze.split(","))}
    torch_train(model, x, y, 16, 3, frozen, opt_args)
    ref = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    got = dict(np.load(out))
    fresh = make()
    try:
        fresh.load_state_dict({k: torch.from_numpy(v) for k, v in got.items()}, strict=True)
    except RuntimeError as e:
        return problems + [f"{tag}: load_state_dict(strict=True) refused OUT.npz: {e}"]
    trained = {n for n, _ in model.named_parameters()} - frozen
    for k in ref:
        if k not in trained:
            if got[k].tobytes() != initial[k].tobytes():
                problems.append(f"{tag}: {k} (frozen or a buffer) changed")
        elif not np.all(np.abs(got[k] - ref[k]) <= ATOL + RTOL * np.abs(ref[k])):
            problems.append(f"{tag}: {k} differs from PyTorch by "
                            f"{np.max(np.abs(got[k] - ref[k])):.3g}")
        elif got[k].tobytes() == initial[k].tobytes():
            problems.append(f"{tag}: trainable {k} did not move")
    print(f"{'ok  ' if not problems else 'FAIL'} {tag}")
    return problems


def refused(exe, tmp, make, args, needles, seed):
    """freezebench train on make()'s state_dict with `args` must fail (exit 1, or 2 for a
    usage error), say every one of `needles` and write no output."""
    torch.manual_seed(seed)
    np.savez(os.path.join(tmp, "IN.npz"),
             **{k: v.detach().numpy() for k, v in make().state_dict().items()})
    np.savez(os.path.join(tmp, "DATA.npz"), x=np.zeros((32, 8), np.float32),
             y=np.zeros((32, 4), np.float32))
    run, out = fz(exe, tmp, args, 1, 16, {"lr": 0.01, "momentum": 0.0})
    tag = f"{make.__name__} {' '.join(args)}"
    missing = [n for n in needles if n not in run.stderr]
    if run.returncode not in (1, 2) or missing or os.path.exists(out):
        print(f"FAIL {tag}")
        return [f"{tag}: expected a refusal saying {missing or needles}, got exit "
                f"{run.returncode}{', an output' if os.path.exists(out) else ''}: "
                f"{run.stderr.strip()}"]
    print(f"ok   {tag}: refused")
    return []


def main():
    if len(sys.argv) != 2:
        print("usage: torch_state_dict_check.py PATH/TO/freezebench", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    exe = sys.argv[1]
    cases = [
        (sequential, [], "none", []),
        (sequential, [], "0.*", []),
        (no_bias, [], "none", []),
        (OutOfOrder, ["--map", "fc1=inp,fc2=mid,fc3=head", "--ignore-unknown"], "inp.*",
         [(["--ignore-unknown"], "inputs"),
          (["--map", "fc1=inp,fc2=mid,fc3=head"], "'scale'")]),
        # 'fc1.*' is the archive's fc1 alone, never the library's fc1 (the archive's fc0)
        (FcNamed, ["--map", "fc1=fc0,fc2=fc1,fc3=fc2"], "fc1.*", []),
        (FcNamed, [], "fc1.*", []),
        (Fc2Fc3, [], "fc2.*", []),
    ]
    refusals = [
        (batchnorm, ["--ignore-unknown"],
         ["BatchNorm layer ('1')", "Linear/ReLU", "would skip the BatchNorm",
          "refused by design"]),
        (batchnorm, [], ["BatchNorm layer ('1')", "refused by design"]),
        (sequential, ["--map", "fc1=0,fc2=2,fc3=4,fc4=0"], ["fc1 and fc4 both name '0'"]),
    ]
    problems = []
    with tempfile.TemporaryDirectory(prefix="fz_state_dict_") as tmp:
        for i, (make, extra, freeze, refusals_first) in enumerate(cases):
            problems += run_case(exe, tmp, make, extra, freeze, refusals_first, seed=200 + i)
        for i, (make, args, needles) in enumerate(refusals):
            problems += refused(exe, tmp, make, args, needles, seed=300 + i)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
