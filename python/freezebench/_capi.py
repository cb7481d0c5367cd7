"""The C library through ctypes: finding it, its prototypes, its errors.

Pure Python on purpose: no compiled extension to build per interpreter, and the shared
library meson builds is the only native code.  The library is loaded at the first call
that needs it, not at import, so `import freezebench` works (and set_library can still
choose the file) before any library is found.
"""
import ctypes
import ctypes.util
import os
import threading

_lock = threading.Lock()
_lib = None
_lib_path = None
_chosen = None   # set_library's path, if any

# fz_status values (freezebench.h): index = value.
STATUS_NAMES = ("FZ_OK", "FZ_EINVAL", "FZ_ENOMEM", "FZ_EIO", "FZ_EFORMAT",
                "FZ_ENOTFOUND", "FZ_ENONFINITE")


class FreezebenchError(RuntimeError):
    """A call into libfreezebench failed.  str(e) is fz_last_error()'s message; `status`
    is the fz_status name ("FZ_EINVAL", ...), or None where the C call returns NULL
    instead of a status (constructors); `call` names the C function."""

    def __init__(self, message, status=None, call=None):
        super().__init__(message)
        self.message, self.status, self.call = message, status, call


class Sgd(ctypes.Structure):
    _fields_ = [("lr", ctypes.c_float), ("momentum", ctypes.c_float),
                ("weight_decay", ctypes.c_float)]


class Adamw(ctypes.Structure):
    _fields_ = [("lr", ctypes.c_float), ("beta1", ctypes.c_float),
                ("beta2", ctypes.c_float), ("eps", ctypes.c_float),
                ("weight_decay", ctypes.c_float)]


class TrainOpts(ctypes.Structure):
    _fields_ = [("loss", ctypes.c_int), ("optim", ctypes.c_int), ("sgd", Sgd),
                ("adamw", Adamw)]


class NpzImport(ctypes.Structure):
    _fields_ = [("map", ctypes.c_char_p), ("ignore_unknown", ctypes.c_bool),
                ("architecture", ctypes.c_char_p)]


class Flops(ctypes.Structure):
    _fields_ = [("fwd", ctypes.c_double), ("bwd", ctypes.c_double),
                ("opt", ctypes.c_double)]


class Eval(ctypes.Structure):
    _fields_ = [("loss", ctypes.c_double), ("accuracy", ctypes.c_double),
                ("samples", ctypes.c_size_t)]


class Memory(ctypes.Structure):
    _fields_ = [("activations", ctypes.c_size_t), ("gradients", ctypes.c_size_t),
                ("optimizer", ctypes.c_size_t), ("packed", ctypes.c_size_t)]


class LayerPlan(ctypes.Structure):
    _fields_ = [("need_dW", ctypes.c_bool), ("need_db", ctypes.c_bool),
                ("need_dX", ctypes.c_bool)]


def _prototypes(lib):
    vp, sz, st, cp = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p
    psz = ctypes.POINTER(sz)
    protos = {
        "fz_version": (cp, []),
        "fz_last_error": (cp, []),
        "fz_status_name": (cp, [st]),
        "fz_isa": (cp, []),
        "fz_set_threads": (None, [ctypes.c_int]),
        "fz_get_threads": (ctypes.c_int, []),
        "fz_mlp_create_biases": (vp, [psz, sz, ctypes.POINTER(ctypes.c_bool),
                                      ctypes.c_uint64]),
        "fz_mlp_from_state_dict": (vp, [cp, ctypes.POINTER(NpzImport)]),
        "fz_model_free": (None, [vp]),
        "fz_layer_count": (sz, [vp]),
        "fz_width": (sz, [vp, sz]),
        "fz_param_count": (sz, [vp]),
        "fz_param_name": (cp, [vp, sz]),
        "fz_param_state_name": (cp, [vp, sz]),
        "fz_param_data": (ctypes.POINTER(ctypes.c_float), [vp, cp, psz]),
        "fz_param_shape": (st, [vp, cp, psz, psz]),
        "fz_freeze": (st, [vp, cp]),
        "fz_unfreeze": (st, [vp, cp]),
        "fz_requires_grad": (ctypes.c_bool, [vp, cp]),
        "fz_forward": (st, [vp, sz, vp, vp]),
        "fz_save_npz": (st, [vp, cp]),
        "fz_trainable_elements": (sz, [vp]),
        "fz_frozen_elements": (sz, [vp]),
        "fz_trainer_create_opts": (vp, [vp, sz, ctypes.POINTER(TrainOpts)]),
        "fz_trainer_free": (None, [vp]),
        "fz_train_step": (st, [vp, vp, vp, ctypes.POINTER(ctypes.c_float)]),
        "fz_train_step_labels": (st, [vp, vp, vp, ctypes.POINTER(ctypes.c_float)]),
        "fz_evaluate": (st, [vp, st, sz, vp, vp, vp, ctypes.POINTER(Eval)]),
        "fz_flops_planned": (Flops, [vp]),
        "fz_flops_executed": (Flops, [vp]),
        "fz_memory_used": (Memory, [vp]),
        "fz_layer_plan_get": (st, [vp, sz, ctypes.POINTER(LayerPlan)]),
        "fz_trainer_steps": (ctypes.c_uint64, [vp]),
    }
    for name, (res, args) in protos.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args


def _candidates():
    """Where to look, in order: FREEZEBENCH_LIBRARY, the libdir meson recorded at install,
    then the dynamic loader's own search."""
    env = os.environ.get("FREEZEBENCH_LIBRARY")
    if env:
        # Named explicitly: only that file, so a wrong path fails instead of silently
        # loading some other build.
        return [env]
    out = []
    try:
        from . import _build_config
        for name in ("libfreezebench.so." + _build_config.SOVERSION, "libfreezebench.so"):
            out.append(os.path.join(_build_config.LIBDIR, name))
    except ImportError:   # the source tree: no install, no recorded libdir
        pass
    found = ctypes.util.find_library("freezebench")
    if found:
        out.append(found)
    out += ["libfreezebench.so.0", "libfreezebench.so"]
    return out


def set_library(path):
    """Load libfreezebench from `path` (before the first call into it; it overrides
    FREEZEBENCH_LIBRARY).  Raises RuntimeError if another library is loaded already."""
    global _chosen
    with _lock:
        if _lib is not None and os.path.realpath(path) != os.path.realpath(_lib_path):
            raise RuntimeError(f"freezebench: {_lib_path} is loaded already; set_library "
                               f"must come before the first call into the library")
        _chosen = path


def lib():
    """The loaded library (loading it on the first call)."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            tried = []
            for path in ([_chosen] if _chosen else _candidates()):
                try:
                    handle = ctypes.CDLL(path)
                except OSError as e:
                    tried.append(f"{path} ({e})")
                    continue
                _prototypes(handle)
                _lib, _lib_path = handle, path
                break
            else:
                raise OSError("freezebench: cannot load libfreezebench; tried "
                              + "; ".join(tried) + ".  Set FREEZEBENCH_LIBRARY to the "
                              "library's path (build/src/libfreezebench.so in a build tree)")
    return _lib


def library_path():
    """The path the library was loaded from (loading it if needed)."""
    lib()
    return _lib_path


def last_error():
    return lib().fz_last_error().decode("utf-8", "replace")


def check(status, call):
    """Raises FreezebenchError with fz_last_error() for a status other than FZ_OK."""
    if status != 0:
        name = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else str(status)
        raise FreezebenchError(last_error(), name, call)


def check_handle(handle, call):
    """Raises FreezebenchError with fz_last_error() for a NULL from a constructor."""
    if not handle:
        raise FreezebenchError(last_error(), None, call)
    return handle
