#!/usr/bin/python3
"""The freezebench Python package's basics (python/freezebench), on the library just built.

usage: FREEZEBENCH_LIBRARY=build/src/libfreezebench.so PYTHONPATH=python \
           /usr/bin/python3 tests/python_binding_check.py

  - names: a Sequential keeps its own names ("0.weight", ...; a bias-free layer has no
    bias), the library's fcK names beside them (name_map), the module's values and requires_grad
    flags; from_widths gives fc1.weight, ...;
  - freezing by the module's names and globs, unfreezing, requires_grad; a glob naming
    nothing (the library's own "fc1.*" on a Sequential included) raises FreezebenchError
    carrying fz_last_error()'s message, and no flag changes;
  - modules and layouts the library cannot train are refused by name (Tanh, consecutive
    Linears, a ReLU first or last, float64, a nested Sequential, layers that do not chain);
  - bad inputs: wrong shapes, wrong dtypes (refused), non-contiguous and float64 inputs
    and negative views (converted: the same loss as the contiguous float32 batch), NaN (FZ_ENONFINITE,
    parameters untouched), labels out of range (the library's FZ_EINVAL);
  - trainer errors from the C library (nothing to train, a negative lr) raise with its
    message; FLOPs planned = executed; forward and evaluate against PyTorch;
  - lifetimes: a trainer keeps its model alive, closing a model closes its trainers,
    closed objects refuse calls, a reference cycle is collected without a crash;
  - state_dict / load_state_dict / copy_to / save_npz + from_npz round trips.
Exit 0 when every check holds, 1 otherwise, 77 (meson's SKIP) without PyTorch/NumPy.
"""
import gc
import os
import sys
import tempfile

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    print(f"SKIP: cannot import PyTorch/NumPy ({e})")
    sys.exit(77)

import freezebench as fb
from freezebench import _capi

from pycheck import check, finish  # noqa: E402


def raises(exc, fn, *args, contains=None, **kw):
    """The exception fn raised if it is an `exc` (and its text holds `contains`)."""
    try:
        fn(*args, **kw)
    except exc as e:
        if contains is None or contains in str(e):
            return e
        print(f"     raised {type(e).__name__}: {e}")
        return None
    except Exception as e:   # the wrong kind: reported, counted as not raised
        print(f"     raised {type(e).__name__}: {e}")
        return None
    return None


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4, bias=False), nn.ReLU(),
                         nn.Linear(4, 3))


# ---- library facts ----
check(fb.version().count(".") == 2, f"version() {fb.version()}")
check(fb.isa() in ("avx512", "avx2", "neon", "scalar"), f"isa() {fb.isa()}")
fb.set_threads(1)
check(fb.get_threads() == 1, "set_threads(1) then get_threads() == 1")
check(os.path.realpath(fb.library_path()) ==
      os.path.realpath(os.environ.get("FREEZEBENCH_LIBRARY", fb.library_path())),
      f"the library is FREEZEBENCH_LIBRARY's: {fb.library_path()}")

# ---- names ----
w = fb.Model.from_widths([4, 3, 2], seed=3, bias=[True, False])
check(w.names == ["fc1.weight", "fc1.bias", "fc2.weight"] and w.widths == [4, 3, 2],
      f"from_widths names {w.names}, widths {w.widths}")
check(w.shape("fc1.weight") == (3, 4) and w.shape("fc1.bias") == (3,),
      "shapes: weight (out, in), bias (out,)")
w.close()

module = net()
module[2].weight.requires_grad_(False)
m = fb.Model.from_torch(module)
check(m.names == list(module.state_dict()), f"from_torch keeps the module's names {m.names}")
check(m.library_names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc3.weight", "fc3.bias"],
      f"library names {m.library_names}")
check(m.name_map["4.bias"] == "fc3.bias" and m.name_map["2.weight"] == "fc2.weight",
      "name_map: the module's names to the library's")
sd = m.state_dict()
check(all(np.array_equal(sd[n], p.detach().numpy()) for n, p in module.named_parameters()),
      "the parameters are the module's, bit for bit")
check(not m.requires_grad("2.weight") and m.requires_grad("0.weight"),
      "the module's requires_grad flags come with it (2.weight frozen)")
m.unfreeze("2.weight")

# ---- freezing by the module's names ----
m.freeze("0.*")
check([m.requires_grad(n) for n in m.names] == [False, False, True, True, True],
      "freeze('0.*') freezes 0.weight and 0.bias only")
m.freeze(["2.weight", "4.bias"])
check([m.requires_grad(n) for n in m.names] == [False, False, False, True, False],
      "freeze([names]) freezes each")
m.unfreeze("*")
m.freeze("*.bias")
check([m.requires_grad(n) for n in m.names] == [True, False, True, True, False],
      "freeze('*.bias'): the biases")
before = [m.requires_grad(n) for n in m.names]
e = raises(fb.FreezebenchError, m.freeze, "fc1.*")
check(e is not None and e.status == "FZ_ENOTFOUND" and "fc1.*" in str(e)
      and str(e) == _capi.last_error(),
      f"freeze('fc1.*') on a Sequential raises with the C message: {e}")
e = raises(fb.FreezebenchError, m.freeze, "0.weight,9.*")
check(e is not None and [m.requires_grad(n) for n in m.names] == before,
      "a spec with one glob matching nothing changes no flag")
e = raises(fb.FreezebenchError, m.freeze, "prefix:x")
check(e is not None and e.status == "FZ_EINVAL", f"a malformed spec: {e}")
check(raises(fb.FreezebenchError, m.requires_grad, "9.weight") is not None,
      "requires_grad of an unknown name raises")
m.unfreeze("*")
m.freeze("prefix:1")
check(not m.requires_grad("0.bias") and m.requires_grad("2.weight"),
      "library specs (prefix:1) work on the module's names")
m.unfreeze("*")

# ---- refusals ----
for seq, says in [
        (nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1)),
         "freezebench: module '1' is Tanh; only Linear and ReLU are supported"),
        (nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1)), "a ReLU"),
        (nn.Sequential(nn.Linear(3, 3), nn.ReLU()), "ends with a ReLU"),
        (nn.Sequential(nn.ReLU(), nn.Linear(3, 3)), "comes first"),
        (nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.ReLU(), nn.Linear(3, 1)), "follows a ReLU"),
        (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(3, 1)), "takes 3 inputs"),
        (nn.Sequential(nn.Sequential(nn.Linear(3, 3))), "module '0' is Sequential"),
        (nn.Sequential(nn.Linear(3, 3), nn.Dropout(), nn.Linear(3, 1)), "is Dropout"),
        (nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1)).double(), "torch.float64"),
        (nn.Sequential(), "no Linear layer")]:
    check(raises(ValueError, fb.Model.from_torch, seq, contains=says) is not None,
          f"refused, saying '{says}'")
check(raises(TypeError, fb.Model.from_torch, nn.ModuleDict({"fc1": nn.Linear(2, 2)}))
      is not None, "a module that is not a Sequential is refused")

# ---- the trainer and its inputs ----
B = 4
x = torch.randn(B, 6)
y = torch.randn(B, 3)
everything = fb.Model.from_torch(net())
everything.freeze("*")
e = raises(fb.FreezebenchError, fb.Trainer, everything, B, fb.SGD(0.1))
check(e is not None and e.message and e.message == _capi.last_error(),
      f"a trainer with nothing to train: {e}")
e = raises(fb.FreezebenchError, fb.Trainer, m, B, fb.SGD(-0.1))
check(e is not None and e.call == "fz_trainer_create_opts", f"a negative lr: {e}")
e = raises(fb.FreezebenchError, fb.Trainer, m, B, fb.AdamW(betas=(1.5, 0.9)))
check(e is not None, f"AdamW beta1 1.5: {e}")
check(raises(ValueError, fb.Trainer, m, B, fb.SGD(0.1), loss="hinge") is not None,
      "an unknown loss is refused")
check(raises(TypeError, fb.Trainer, m, B, torch.optim.SGD) is not None,
      "an optimizer that is not fb.SGD/fb.AdamW is refused")

t = fb.Trainer(m, B, fb.SGD(0.05, momentum=0.9))
check(raises(ValueError, t.step, torch.randn(B + 1, 6), y, contains="(5, 6)") is not None,
      "x of the wrong batch: ValueError naming its shape")
check(raises(ValueError, t.step, x, torch.randn(B, 2)) is not None, "y of the wrong width")
check(raises(ValueError, t.step, x.reshape(-1), y) is not None, "x flattened")
check(raises(TypeError, t.step, x.to(torch.int32), y) is not None, "integer x: TypeError")
check(raises(TypeError, t.step, np.ones((B, 6), dtype=np.int64), y.numpy()) is not None,
      "integer NumPy x: TypeError")
bad = x.clone()
bad[1, 2] = float("nan")
params = m.state_dict()
e = raises(fb.FreezebenchError, t.step, bad, y)
check(e is not None and e.status == "FZ_ENONFINITE" and "[1, 2]" in str(e).replace("][", ", "),
      f"NaN in x: FZ_ENONFINITE naming the element: {e}")
check(all(np.array_equal(params[n], a) for n, a in m.state_dict().items()) and t.steps == 0,
      "a failed step leaves the parameters as they were")

# Converted inputs train exactly as the float32 contiguous batch: two models, same start.
m2 = fb.Model.from_torch(net())
t2 = fb.Trainer(m2, B, fb.SGD(0.05, momentum=0.9))
wide = torch.randn(B, 12)
wide[:, ::2] = x
strided = wide[:, ::2]                       # not contiguous
check(not strided.is_contiguous(), "the strided view is not contiguous")
l1 = t.step(x, y)
l2 = t2.step(strided, y.double())            # strided float32 x, float64 y
check(l1 == l2, f"strided x and float64 y: the same loss ({l1} vs {l2})")
l1 = t.step(x.numpy(), np.asfortranarray(y.numpy()))
l2 = t2.step(x.numpy().astype(np.float64), y.numpy())
check(l1 == l2, f"Fortran-order y and float64 NumPy x: the same loss ({l1} vs {l2})")
check(all(np.array_equal(a, b) for a, b in zip(m.state_dict().values(),
                                                 m2.state_dict().values())),
      "and the same parameters")
check(t.flops_planned() == t.flops_executed() and t.flops_planned().bwd > 0 and t.steps == 2,
      f"FLOPs planned = executed {t.flops_planned()}")
full_bwd = t.flops_planned().bwd
m.freeze("0.*")
t.step(x, y)
check(t.flops_planned().bwd < full_bwd and not t.layer_plan(0).need_dW,
      "freezing 0.* cuts the backward FLOPs at the next step")
m.unfreeze("*")

# Cross-entropy: labels as int64 (converted), int32 (read in place); out of range refused.
ce = fb.Trainer(m2, B, fb.SGD(0.05), loss="cross_entropy")
labels = torch.tensor([0, 2, 1, 2])
loss = ce.step(x, labels)
ref = nn.functional.cross_entropy(torch.from_numpy(m2.forward(x.numpy())), labels)
check(np.isfinite(loss), f"cross-entropy step on int64 labels: loss {loss}")
e = raises(fb.FreezebenchError, ce.step, x, torch.tensor([0, 3, 1, 2], dtype=torch.int32))
check(e is not None and e.status == "FZ_EINVAL" and "3" in str(e),
      f"a label out of [0, 3): the library's message: {e}")
check(raises(ValueError, ce.step, x, np.array([0, 1, 2, 2**40])) is not None,
      "an int64 label that does not fit an int32 is refused before converting")
check(raises(TypeError, ce.step, x, torch.tensor([0.0, 1.0, 2.0, 1.0])) is not None,
      "float labels: TypeError")
check(raises(ValueError, t.step, x, labels, contains="takes (4, 3)") is not None,
      "an MSE trainer refuses labels as targets")

# ---- forward and evaluate against PyTorch ----
with torch.no_grad():
    module3 = net()
    m3 = fb.Model.from_torch(module3)
    xs = torch.randn(7, 6)
    got, want = m3.forward(xs), module3(xs)
    check(isinstance(got, torch.Tensor) and torch.allclose(got, want, rtol=1e-5, atol=1e-6),
          "forward matches the module")
    # A negative view shares its source's (un-negated) data: it must be converted.
    check(torch.equal(m3.forward(torch._neg_view(xs)), m3.forward(-xs)),
          "a negative view (is_neg) is read as its values, not its source's")
    ys = torch.randn(7, 3)
    ev = m3.evaluate(xs, y=ys)
    check(abs(ev.loss - nn.functional.mse_loss(want, ys).item()) < 1e-5 and ev.samples == 7,
          f"evaluate MSE {ev.loss}")
    lab = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    ev = m3.evaluate(xs, labels=lab)
    acc = (want.argmax(1) == lab).float().mean().item()
    ref = nn.functional.cross_entropy(want, lab).item()
    check(abs(ev.loss - ref) < 1e-5 and abs(ev.accuracy - acc) < 1e-6,
          f"evaluate cross-entropy {ev}, PyTorch's loss {ref}, accuracy {acc}")

# ---- parameters back ----
target = net()
m.copy_to(target)
check(all(np.array_equal(p.detach().numpy(), m.state_dict()[n])
          for n, p in target.named_parameters()), "copy_to writes every parameter")
check(raises(ValueError, m.copy_to, nn.Sequential(nn.Linear(6, 3))) is not None,
      "copy_to a module of other parameters is refused")
tensors = m.state_dict(as_torch=True)
check(all(isinstance(v, torch.Tensor) for v in tensors.values()), "state_dict(as_torch=True)")
m3.load_state_dict(tensors)
check(all(np.array_equal(a, b) for a, b in zip(m3.state_dict().values(),
                                                 m.state_dict().values())),
      "load_state_dict copies tensors in")
check(raises(ValueError, m3.load_state_dict, {"0.weight": tensors["0.weight"]}) is not None,
      "load_state_dict with missing names is refused")
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "m.npz")
    m.save_npz(path)
    back = fb.Model.from_npz(path)
    check(back.names == m.names and all(np.array_equal(a, b) for a, b in
                                        zip(back.state_dict().values(),
                                            m.state_dict().values())),
          "save_npz then from_npz: the module's names and values")
    e = raises(fb.FreezebenchError, fb.Model.from_npz, os.path.join(d, "missing.npz"))
    check(e is not None and "missing.npz" in str(e), f"from_npz of no file: {e}")

# ---- lifetimes ----
keep = fb.Model.from_torch(net())
kt = fb.Trainer(keep, B, fb.SGD(0.1))
del keep
gc.collect()
check(np.isfinite(kt.step(x, y)), "a trainer keeps its model alive after `del model`")
owner = kt.model
owner.close()
check(raises(ValueError, kt.step, x, y, contains="closed") is not None,
      "closing the model closes its trainer")
check(raises(ValueError, owner.freeze, "0.*", contains="closed") is not None,
      "a closed model refuses calls")
owner.close()                                   # idempotent
with fb.Model.from_widths([3, 2]) as cm:
    pass
check(raises(ValueError, cm.state_dict) is not None, "`with` closes the model")
for _ in range(3):                              # cycles: either finaliser may run first
    cm = fb.Model.from_widths([3, 2])
    ct = fb.Trainer(cm, 2, fb.SGD(0.1))
    cm.partner, ct.partner = ct, cm
    del cm, ct
    gc.collect()
check(True, "reference cycles of a model and its trainer are collected")

finish()
