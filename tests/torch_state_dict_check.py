#!/usr/bin/python3
"""Any MLP's state_dict through `freezebench train` and back into PyTorch.

usage: /usr/bin/python3 tests/torch_state_dict_check.py PATH/TO/freezebench

Models: an nn.Sequential (0.weight, 0.bias, 2.weight, ... with a bias-free Linear in the
middle), a model of bias-free layers only, and a module whose Linear layers are
registered out of forward order with an extra float32 buffer (needs --map and
--ignore-unknown; refused, naming what is missing, without them).  For each, freezebench
trains the state_dict written by np.savez, and the result must
  - load into a fresh model with load_state_dict(strict=True) (the archive keeps the
    user's names, buffers included),
  - agree with PyTorch training the same (torch_crosscheck.py's tolerance), frozen
    tensors and buffers bit-identical.

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
    x, y = torch.randn(60, 8), torch.randn(60, 4)
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
    ]
    problems = []
    with tempfile.TemporaryDirectory(prefix="fz_state_dict_") as tmp:
        for i, (make, extra, freeze, refusals) in enumerate(cases):
            problems += run_case(exe, tmp, make, extra, freeze, refusals, seed=200 + i)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
