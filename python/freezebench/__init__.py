"""freezebench from Python: MLPs trained on the CPU by libfreezebench, with PyTorch's
requires_grad semantics, through ctypes (no compiled extension).

    import torch, freezebench as fb
    net = torch.nn.Sequential(torch.nn.Linear(10, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1))
    with fb.Model.from_torch(net) as m:
        m.freeze("0.*")                                   # the module's own names
        t = fb.Trainer(m, batch=64, optimizer=fb.SGD(lr=0.1, momentum=0.9))
        loss = t.step(x, y)                               # float32 CPU tensors: no copy
        m.copy_to(net)

The library is found through FREEZEBENCH_LIBRARY, else the libdir recorded by `meson
install`, else the dynamic loader (set_library(path) chooses before the first call).
Failures of the C library raise FreezebenchError carrying fz_last_error()'s message.
"""
from ._capi import FreezebenchError, library_path, set_library
from ._capi import lib as _lib
from ._model import (AdamW, Evaluation, Flops, LayerPlan, Memory, Model, SGD, Trainer,
                     as_float32, as_labels)
from ._sweep import SweepError, find_sweep, sweep

try:
    from ._build_config import VERSION as __version__
except ImportError:   # the source tree
    __version__ = None

__all__ = ["AdamW", "Evaluation", "Flops", "FreezebenchError", "LayerPlan", "Memory",
           "Model", "SGD", "SweepError", "Trainer", "find_sweep", "get_threads", "isa",
           "library_path", "set_library", "set_threads", "sweep", "version"]


def version():
    """The running library's version (fz_version), "MAJOR.MINOR.PATCH"."""
    return _lib().fz_version().decode()


def isa():
    """The kernel family that runs: "avx512", "avx2", "neon" or "scalar" (fz_isa)."""
    return _lib().fz_isa().decode()


def set_threads(n):
    """Threads of the kernels and the step (fz_set_threads; 0: one per physical core).
    Not while another thread trains."""
    if int(n) < 0:
        raise ValueError("freezebench: set_threads takes 0 (one per core) or more")
    _lib().fz_set_threads(int(n))


def get_threads():
    return _lib().fz_get_threads()
