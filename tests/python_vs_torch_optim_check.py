#!/usr/bin/python3
"""The freezebench package trains an nn.Sequential as torch.optim does.

usage: FREEZEBENCH_LIBRARY=build/src/libfreezebench.so PYTHONPATH=python \
           /usr/bin/python3 tests/python_vs_torch_optim_check.py

The same Sequential (Linear 8->16, ReLU, Linear 16->12 without a bias, ReLU, Linear
12->4), with some parameters frozen (requires_grad=False in the module, which
Model.from_torch takes with it), is trained STEPS steps on the same batches by
freezebench (Trainer.step on the tensors) and by PyTorch (zero_grad, forward, loss,
backward, torch.optim step over every parameter: a frozen one has no grad and is
skipped, as freezebench skips it), for SGD with momentum and weight decay and for
AdamW, under MSE and under cross-entropy.  Then
  - every step's loss agrees:       |fz - torch| <= ATOL + RTOL * |torch|
  - every trained parameter agrees, elementwise, within the same tolerance
    (float32 sums in another order drift by a few ulps a step; RTOL 1e-4, ATOL 1e-5,
    as tests/torch_finetune_check.py),
  - every frozen parameter is bitwise what it was before training (on both sides),
  - and each trained parameter moved (so a no-op trainer cannot pass).
Exit 0 when all agree, 1 otherwise, 77 (meson's SKIP) without PyTorch/NumPy.
"""
import copy
import sys

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    print(f"SKIP: cannot import PyTorch/NumPy ({e})")
    sys.exit(77)

import freezebench as fb

RTOL, ATOL = 1e-4, 1e-5
STEPS, BATCH = 20, 16

CASES = [
    # (optimizer, loss, frozen parameters)
    ("sgd", "mse", ["0.weight", "0.bias"]),
    ("adamw", "mse", ["2.weight"]),
    ("sgd", "cross_entropy", ["0.bias", "4.bias"]),
    ("adamw", "cross_entropy", ["4.weight", "4.bias"]),
]


def make_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 12, bias=False),
                         nn.ReLU(), nn.Linear(12, 4))


def torch_optimizer(kind, params):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3)
    return torch.optim.AdamW(params, lr=1e-2, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.05)


def fz_optimizer(kind):
    if kind == "sgd":
        return fb.SGD(lr=0.05, momentum=0.9, weight_decay=1e-3)
    return fb.AdamW(lr=1e-2, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.05)


def close(a, b):
    return np.all(np.abs(a - b) <= ATOL + RTOL * np.abs(b))


def run(kind, loss_name, frozen):
    what = f"{kind} {loss_name}, frozen {','.join(frozen)}"
    ok = True
    ref = make_net()
    for n, p in ref.named_parameters():
        p.requires_grad_(n not in frozen)
    start = {n: p.detach().clone().numpy() for n, p in ref.named_parameters()}
    model = fb.Model.from_torch(copy.deepcopy(ref))    # flags come with the module
    trainer = fb.Trainer(model, BATCH, fz_optimizer(kind), loss=loss_name)
    opt = torch_optimizer(kind, ref.parameters())
    loss_fn = nn.MSELoss() if loss_name == "mse" else nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)
    for step in range(STEPS):
        x = torch.randn(BATCH, 8, generator=gen)
        y = (torch.randn(BATCH, 4, generator=gen) if loss_name == "mse"
             else torch.randint(0, 4, (BATCH,), generator=gen))
        fz_loss = trainer.step(x, y)
        opt.zero_grad()
        loss = loss_fn(ref(x), y)
        loss.backward()
        opt.step()
        if not close(np.float32(fz_loss), np.float32(loss.item())):
            print(f"FAIL {what}: step {step} loss {fz_loss} vs PyTorch {loss.item()}")
            ok = False
    got = model.state_dict()
    for n, p in ref.named_parameters():
        want = p.detach().numpy()
        if n in frozen:
            same = (got[n].view(np.uint32) == start[n].view(np.uint32)).all() and \
                (want.view(np.uint32) == start[n].view(np.uint32)).all()
            if not same:
                print(f"FAIL {what}: frozen {n} changed")
                ok = False
        else:
            if not close(got[n], want):
                err = np.max(np.abs(got[n] - want) / (ATOL + RTOL * np.abs(want)))
                print(f"FAIL {what}: {n} differs from PyTorch's ({err:.3g} x the tolerance)")
                ok = False
            if np.array_equal(got[n], start[n]):
                print(f"FAIL {what}: {n} was not trained")
                ok = False
    print(("ok   " if ok else "FAIL ") + f"{what}: {STEPS} steps, last loss {fz_loss:.6g}")
    trainer.close()
    model.close()
    return ok


fb.set_threads(1)
results = [run(*case) for case in CASES]
sys.exit(0 if all(results) else 1)
