#!/usr/bin/python3
"""Trainer.step reads the caller's buffer when its layout allows: no copy.

usage: FREEZEBENCH_LIBRARY=build/src/libfreezebench.so PYTHONPATH=python \
           /usr/bin/python3 tests/python_zero_copy_check.py

Two independent views of "no copy":
  1. The address the C library is given.  The package's ctypes function objects
     (fz_train_step, fz_train_step_labels) are wrapped by a spy that records the x, y
     and labels pointers before calling the real function: for a C-contiguous float32
     NumPy array (and a contiguous float32 CPU tensor, int32 labels) they must be the
     caller's own data pointers, and for a strided view, a float64 array or int64 labels
     they must not be (the one documented conversion), with the same loss either way.
  2. Memory, without looking inside the package: NumPy reports its buffers to
     tracemalloc, so the peak of traced memory during a step on a 4 MiB float32 batch
     must grow by far less than the batch (a copy would add 4 MiB), while the same step
     on a Fortran-ordered batch must grow by at least the batch (which shows the
     measurement sees a copy when there is one).
Exit 0 when both hold, 1 otherwise, 77 (meson's SKIP) without NumPy.  The tensor checks
run where PyTorch is installed.
"""
import sys
import tracemalloc

try:
    import numpy as np
except ImportError as e:
    print(f"SKIP: cannot import NumPy ({e})")
    sys.exit(77)
try:
    import torch
except ImportError:
    torch = None

import freezebench as fb
from freezebench import _capi

from pycheck import check, finish  # noqa: E402


seen = {}


def spy(name):
    lib = _capi.lib()
    real = getattr(lib, name)

    def call(t, x, y, loss):
        seen[name] = (x, y)
        return real(t, x, y, loss)
    setattr(lib, name, call)   # the CDLL's attribute: what the package looks up per call


fb.set_threads(1)
spy("fz_train_step")
spy("fz_train_step_labels")
B, IN, OUT = 2048, 512, 4
model = fb.Model.from_widths([IN, 8, OUT], seed=2)
trainer = fb.Trainer(model, B, fb.SGD(1e-3))
rng = np.random.default_rng(0)
x = rng.standard_normal((B, IN), dtype=np.float32)
y = rng.standard_normal((B, OUT), dtype=np.float32)

# ---- 1. the pointers ----
l_direct = trainer.step(x, y)
check(seen["fz_train_step"] == (x.ctypes.data, y.ctypes.data),
      "NumPy float32 C-contiguous x and y: the library is given their own addresses")
wide = np.zeros((B, 2 * IN), dtype=np.float32)
wide[:, ::2] = x
# A second model from the same seed: its first step must give the same loss.
trainer2 = fb.Trainer(fb.Model.from_widths([IN, 8, OUT], seed=2), B, fb.SGD(1e-3))
l_strided = trainer2.step(wide[:, ::2], y)
check(seen["fz_train_step"][0] not in (wide.ctypes.data, x.ctypes.data)
      and l_strided == l_direct,
      f"a strided view is converted once (another address), the same loss {l_strided}")
trainer2.step(x.astype(np.float64), y)
check(seen["fz_train_step"][0] != x.ctypes.data, "float64 x: converted (another address)")
if torch is not None:
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    trainer.step(tx, ty)
    check(seen["fz_train_step"] == (tx.data_ptr(), ty.data_ptr()),
          "float32 contiguous tensors: the library is given their data_ptr()")
    trainer.step(tx.t().contiguous().t(), ty)   # same values, column-major strides
    check(seen["fz_train_step"][0] != tx.data_ptr() and seen["fz_train_step"][1] ==
          ty.data_ptr(), "a transposed-layout tensor x is converted, y is still read in place")
ce_model = fb.Model.from_widths([IN, 8, OUT], seed=2)
ce = fb.Trainer(ce_model, B, fb.SGD(1e-3), loss="cross_entropy")
labels = rng.integers(0, OUT, B).astype(np.int32)
ce.step(x, labels)
check(seen["fz_train_step_labels"] == (x.ctypes.data, labels.ctypes.data),
      "int32 labels: read in place")
ce.step(x, labels.astype(np.int64))
check(seen["fz_train_step_labels"][1] != labels.ctypes.data, "int64 labels: converted")

# ---- 2. memory, seen from outside ----
def step_peak(xs):
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    trainer.step(xs, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


trainer.step(x, y)                       # the plan's buffers exist before measuring
grow_direct = step_peak(x)
fortran = np.asfortranarray(x)
grow_fortran = step_peak(fortran)
check(grow_direct < x.nbytes // 16,
      f"a step on a C-ordered float32 batch of {x.nbytes} bytes allocated {grow_direct} "
      f"bytes of NumPy memory at its peak")
check(grow_fortran >= x.nbytes,
      f"the same batch in Fortran order: {grow_fortran} bytes (the one conversion)")

finish()
