#!/usr/bin/python3
"""Cross-check `freezebench train --loss cross-entropy --optimizer adamw|sgd` and
`freezebench eval` against PyTorch.

usage: /usr/bin/python3 tests/torch_finetune_check.py PATH/TO/freezebench

For several architectures, freeze specs and optimizer settings, PyTorch initialises an
MLP (fc1..fcL, ReLU between), writes its state_dict to IN.npz and random inputs with
integer class labels (int64, int32 or uint8 `y` of shape (N,)) to DATA.npz; both sides
train from those parameters on those batches in file order with nn.CrossEntropyLoss
(mean) and torch.optim.AdamW (defaults, or other betas, eps and weight decay; every kind of freeze
spec; bias-free layers) or torch.optim.SGD over the trainable parameters.  The trained parameters must agree:

    |fz - torch| <= ATOL + RTOL * |torch|   elementwise, RTOL = 1e-4, ATOL = 1e-5

as in torch_crosscheck.py (float32 on both sides, sums in other orders: a few ulps a
step).  AdamW divides by sqrt(v) + eps, which magnifies those ulps where |g| is near eps,
so its cases run 20-40 steps; every case also checks that PyTorch stopped one step early
falls outside the tolerance, so the comparison can tell a step apart.  Frozen
parameters must be bit-identical to IN.npz.  A freeze schedule under AdamW must match
PyTorch's: a parameter whose requires_grad turns on later starts with zero state and its
own step count (torch.optim.AdamW's lazily created state).  Then `freezebench eval` on
the trained model must print PyTorch's loss and accuracy to its 4 decimals.  Last, the
extreme logits (±1e4, all equal, one-hot-like) of a model whose logits are its inputs:
eval's loss is nn.CrossEntropyLoss's and one SGD step at lr 1 moves the parameters as
PyTorch's backward does.

Exit status: 0 all cases agree, 1 a mismatch, 77 (meson's SKIP) when PyTorch or NumPy
cannot be imported.
"""
import os
import re
import subprocess
import sys
import tempfile


# torch_crosscheck skips (exit 77) without PyTorch or NumPy, and reads specs with
# bench/sweep_setup.py's frozen_names, as fz_freeze does.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_crosscheck import (ATOL, MLP, RTOL, frozen_names, nn, np, state,  # noqa: E402
                             torch, within)


def make_optimizer(kind, params, args):
    if kind == "adamw":
        return torch.optim.AdamW(params, **args)
    return torch.optim.SGD(params, **args)


def torch_train(model, x, y, batch, epochs, kind, args, schedule, stop_early=0):
    """schedule: {epoch: set of frozen names}, applied at the start of that epoch, as
    freezebench's --schedule; the optimizer holds every parameter (a frozen one has no
    grad and is skipped, keeping its state; one trained for the first time gets state
    then, with step 0)."""
    opt = make_optimizer(kind, list(model.parameters()), args)
    loss_fn = nn.CrossEntropyLoss()
    steps = x.shape[0] // batch
    total = epochs * steps - stop_early
    done, epoch_losses = 0, []
    for epoch in range(epochs):
        if epoch in schedule:
            for name, p in model.named_parameters():
                p.requires_grad = name not in schedule[epoch]
        losses = []
        for s in range(steps):
            if done == total:
                return epoch_losses
            xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            done += 1
        epoch_losses.append(sum(losses) / len(losses))
    return epoch_losses


def run_case(exe, tmp, case):
    widths, n, batch, epochs, freeze, kind, args, sched_text, label_dtype, seed = case[:10]
    bias = case[10] if len(case) > 10 else True
    tag = (f"widths={widths} N={n} B={batch} epochs={epochs} freeze={freeze} {kind}={args}"
           f" schedule={sched_text} y={label_dtype}")
    torch.manual_seed(seed)
    model = MLP(widths, bias)
    x = torch.randn(n, widths[0])
    y = torch.randint(0, widths[-1], (n,))
    initial = state(model)
    np.savez(os.path.join(tmp, "IN.npz"), **initial)
    np.savez(os.path.join(tmp, "DATA.npz"), x=x.numpy(), y=y.numpy().astype(label_dtype))

    names = list(initial)

    def frozen_by(spec):
        return frozen_names(spec, names, len(widths) - 1)

    schedule = {0: frozen_by(freeze)}
    if sched_text:   # E:SPEC entries; an item not starting "digits:" continues a SPEC
        entries = []
        for item in sched_text.split(","):
            if re.match(r"\d+:", item):
                entries.append(item.split(":", 1))
            else:
                entries[-1][1] += "," + item
        for e, spec in entries:
            schedule[int(e)] = frozen_by(spec)
    twin = MLP(widths, bias)
    twin.load_state_dict(model.state_dict())
    torch_losses = torch_train(model, x, y, batch, epochs, kind, args, schedule)
    ref = state(model)
    torch_train(twin, x, y, batch, epochs, kind, args, schedule, stop_early=1)
    short = state(twin)

    out = os.path.join(tmp, "OUT.npz")
    if os.path.exists(out):
        os.unlink(out)
    cmd = [exe, "train", "--model", os.path.join(tmp, "IN.npz"),
           "--data", os.path.join(tmp, "DATA.npz"), "--freeze", freeze,
           "--epochs", str(epochs), "--batch", str(batch), "--loss", "cross-entropy",
           "--optimizer", kind, "--lr", repr(args["lr"]), "--log-every", "1", "--out", out]
    if kind == "adamw":
        cmd += ["--betas", f"{args['betas'][0]!r},{args['betas'][1]!r}",
                "--eps", repr(args["eps"]), "--weight-decay", repr(args["weight_decay"])]
    else:
        cmd += ["--momentum", repr(args.get("momentum", 0.0))]
    if sched_text:
        cmd += ["--schedule", sched_text]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        return [f"{tag}: freezebench exited {run.returncode}: {run.stderr.strip()}"]
    got = dict(np.load(out))
    problems, worst = [], 0.0
    ever_trained = set(names) - set.intersection(*schedule.values())
    for name in ref:
        if name not in ever_trained:
            if got[name].tobytes() != initial[name].tobytes():
                problems.append(f"{tag}: frozen {name} changed")
            continue
        err = np.max(np.abs(got[name] - ref[name]) / (ATOL + RTOL * np.abs(ref[name])))
        worst = max(worst, float(err))
        if not within(got[name], ref[name]):
            problems.append(f"{tag}: {name} differs from PyTorch: max |diff| "
                            f"{np.max(np.abs(got[name] - ref[name])):.3g}")
    if all(within(short[k], ref[k]) for k in ever_trained):
        problems.append(f"{tag}: the tolerance cannot tell the last step apart")
    printed = [float(v) for v in re.findall(r"Epoch \[\d+/\d+\], Loss: ([-0-9.]+)", run.stdout)]
    if len(printed) != epochs or any(abs(p - t) > 1.5e-4 + 1e-4 * abs(t)
                                     for p, t in zip(printed, torch_losses)):
        problems.append(f"{tag}: epoch losses {printed} vs PyTorch "
                        f"{[round(t, 4) for t in torch_losses]}")

    # eval of the trained model on the same data: PyTorch's loss and accuracy.
    ev = subprocess.run([exe, "eval", "--model", out, "--data", os.path.join(tmp, "DATA.npz"),
                         "--loss", "cross-entropy"], capture_output=True, text=True)
    with torch.no_grad():
        logits = model(x)
        t_loss = nn.CrossEntropyLoss()(logits, y).item()
        t_acc = (logits.argmax(dim=1) == y).float().mean().item()
    m = re.fullmatch(r"loss ([0-9.]+) accuracy ([0-9.]+)\n", ev.stdout)
    if ev.returncode != 0 or not m:
        problems.append(f"{tag}: eval exited {ev.returncode}: {ev.stdout!r} {ev.stderr!r}")
    elif abs(float(m.group(1)) - t_loss) > 1.5e-4 or abs(float(m.group(2)) - t_acc) > 1.5e-4:
        problems.append(f"{tag}: eval '{ev.stdout.strip()}' vs PyTorch loss {t_loss:.4f} "
                        f"accuracy {t_acc:.4f}")
    print(f"{'ok  ' if not problems else 'FAIL'} {tag}: worst error {worst:.3f} of tolerance")
    return problems


def extreme_logits(exe, tmp):
    """Cross-entropy at logits of ±1e4, all equal, and one-hot-like (one at 1e4, the
    rest at -1e4): a one-layer model whose logits are its inputs (W = I, b = 0), one SGD
    step at lr 1 over the batch, the parameters then equal to PyTorch's (its
    backward), and eval's loss equal to nn.CrossEntropyLoss's (its forward)."""
    problems = []
    c = 4
    logits = np.array([[1e4, -1e4, 1e4, -1e4], [3.0, 3.0, 3.0, 3.0],
                       [1e4, -1e4, -1e4, -1e4], [-1e4, -1e4, -1e4, 1e4],
                       [0.5, -2.0, 1e4, 7.0], [-1e4, -1e4, -1e4, -1e4]], dtype=np.float32)
    labels = np.array([2, 1, 0, 0, 3, 2], dtype=np.int64)
    w0 = np.eye(c, dtype=np.float32)
    np.savez(os.path.join(tmp, "EX.npz"), **{"fc1.weight": w0, "fc1.bias": np.zeros(c, np.float32)})
    np.savez(os.path.join(tmp, "EXD.npz"), x=logits, y=labels)
    lin = nn.Linear(c, c)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w0))
        lin.bias.zero_()
    x, y = torch.from_numpy(logits), torch.from_numpy(labels)
    loss = nn.CrossEntropyLoss()(lin(x), y)
    want_loss = loss.item()
    loss.backward()
    with torch.no_grad():
        for p in lin.parameters():
            p -= p.grad
    out = os.path.join(tmp, "EXO.npz")
    ev = subprocess.run([exe, "eval", "--model", os.path.join(tmp, "EX.npz"), "--data",
                         os.path.join(tmp, "EXD.npz"), "--loss", "cross-entropy"],
                        capture_output=True, text=True)
    m = re.fullmatch(r"loss ([0-9.]+) accuracy ([0-9.]+)\n", ev.stdout)
    if not m or abs(float(m.group(1)) - want_loss) > 1e-4 * max(1.0, want_loss):
        problems.append(f"extreme logits: eval {ev.stdout!r} {ev.stderr!r}, PyTorch's "
                        f"loss {want_loss}")
    tr = subprocess.run([exe, "train", "--model", os.path.join(tmp, "EX.npz"), "--data",
                         os.path.join(tmp, "EXD.npz"), "--loss", "cross-entropy",
                         "--epochs", "1", "--batch", "6", "--lr", "1", "--out", out],
                        capture_output=True, text=True)
    if tr.returncode != 0:
        return problems + [f"extreme logits: train exit {tr.returncode}: {tr.stderr}"]
    got = dict(np.load(out))
    for name, p in (("fc1.weight", lin.weight), ("fc1.bias", lin.bias)):
        ref = p.detach().numpy()
        if not within(got[name], ref):
            problems.append(f"extreme logits: {name} after one step differs from PyTorch "
                            f"by {np.max(np.abs(got[name] - ref)):.3g}")
    print(f"{'ok  ' if not problems else 'FAIL'} extreme logits (±1e4, all equal, "
          f"one-hot-like): loss {want_loss:.4f}")
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    exe = sys.argv[1]
    torch.set_num_threads(1)
    adamw = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01}
    adamw2 = {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.0}
    sgd = {"lr": 0.05, "momentum": 0.9}
    cases = [
        ([8, 16, 16, 4], 96, 16, 4, "none", "adamw", adamw, None, "int64", 1),
        ([8, 16, 16, 4], 96, 16, 4, "fc1.*", "adamw", adamw, None, "int32", 2),
        ([12, 32, 24, 5], 90, 20, 6, "fc2.*", "adamw", adamw2, None, "uint8", 3),
        ([8, 16, 16, 4], 96, 16, 4, "none", "sgd", sgd, None, "int64", 4),
        # every kind of spec under AdamW with weight decay, and bias-free layers
        ([8, 16, 16, 4], 64, 16, 3, "prefix:1", "adamw", adamw, None, "int64", 6),
        ([8, 16, 16, 4], 64, 16, 3, "last", "adamw", adamw, None, "int64", 7),
        ([8, 16, 16, 4], 64, 16, 3, "bitfit", "adamw", adamw, None, "int64", 8),
        ([8, 16, 16, 4], 64, 16, 3, "fc2.*", "adamw", adamw, None, "int64", 9, False),
        # gradual unfreezing: fc1 and fc2 frozen, fc2 trained from epoch 2, fc1 from 4
        ([8, 16, 16, 4], 64, 16, 6, "none", "adamw", adamw,
         "0:fc1.*,fc2.*,2:fc1.*,4:none", "int64", 5),
    ]
    problems = []
    with tempfile.TemporaryDirectory(prefix="fz_finetune_check_") as tmp:
        for case in cases:
            problems += run_case(exe, tmp, case)
        problems += extreme_logits(exe, tmp)
    for p in problems:
        print("FAIL", p)
    print(f"{len(cases)} cases, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
