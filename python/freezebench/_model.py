"""Models and trainers over the C library's fz_model and fz_trainer."""
import collections
import ctypes
import os
import sys
import tempfile
import weakref

import numpy as np

from . import _capi
from ._capi import check, check_handle

Flops = collections.namedtuple("Flops", "fwd bwd opt")
Evaluation = collections.namedtuple("Evaluation", "loss accuracy samples")
Memory = collections.namedtuple("Memory", "activations gradients optimizer packed")
LayerPlan = collections.namedtuple("LayerPlan", "need_dW need_db need_dX")

LOSSES = {"mse": 0, "cross_entropy": 1}


class SGD(collections.namedtuple("SGD", "lr momentum weight_decay")):
    """torch.optim.SGD with dampening 0 and nesterov off (fz_sgd)."""
    def __new__(cls, lr, momentum=0.0, weight_decay=0.0):
        return super().__new__(cls, lr, momentum, weight_decay)


class AdamW(collections.namedtuple("AdamW", "lr betas eps weight_decay")):
    """torch.optim.AdamW with amsgrad off (fz_adamw); PyTorch's defaults."""
    def __new__(cls, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        return super().__new__(cls, lr, tuple(betas), eps, weight_decay)


# ---- inputs: the caller's buffer where its layout allows, else one conversion ----------

def _torch_tensor(x):
    """Whether x is a torch.Tensor, without importing torch: if the caller never
    imported it, x cannot be one, and users without torch pay nothing."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _shape_error(what, shape, want, why):
    return ValueError(f"freezebench: {what} has shape {tuple(shape)}; {why} takes "
                      f"{tuple(want)}")


def as_float32(x, shape, what, why):
    """(address, owner) of x as a C-ordered float32 array of `shape`.

    Zero-copy where the layout allows: a C-contiguous, aligned float32 NumPy array or a
    contiguous float32 CPU tensor is passed by its own data pointer.  Otherwise exactly
    one conversion into a new float32 C-ordered buffer (another float dtype, a strided
    view, a GPU tensor; a list becomes an array first).  Non-float inputs are refused (TypeError): a silent
    int-to-float conversion would hide a caller's mistake (labels given as targets).
    `owner` keeps the buffer alive for the call."""
    if _torch_tensor(x):
        import torch
        if tuple(x.shape) != tuple(shape):
            raise _shape_error(what, x.shape, shape, why)
        if not x.dtype.is_floating_point:
            raise TypeError(f"freezebench: {what} is {x.dtype}; a float32 tensor is "
                            f"expected (floating types are converted)")
        # A negative view (is_neg) shares the data of its source un-negated: copy it too.
        if x.dtype != torch.float32 or x.device.type != "cpu" or not x.is_contiguous() \
                or getattr(x, "is_neg", lambda: False)():
            buf = torch.empty(tuple(shape), dtype=torch.float32)
            buf.copy_(x.detach())          # the one conversion: dtype, device, layout
            x = buf
        return x.data_ptr(), x
    a = np.asarray(x)
    if a.shape != tuple(shape):
        raise _shape_error(what, a.shape, shape, why)
    if a.dtype.kind != "f":
        raise TypeError(f"freezebench: {what} is {a.dtype}; a float32 array is expected "
                        f"(floating types are converted)")
    # np.require copies only when dtype, C order or alignment is wrong.
    a = np.require(a, dtype=np.float32, requirements=("C", "A"))
    return a.ctypes.data, a


def as_labels(x, n, classes, what="labels"):
    """(address, owner) of x as n int32 class indices: an aligned C-contiguous int32
    array or CPU tensor is passed as it is; any other integer array is converted once
    (after checking that every value fits an int32, so none wraps into the range the
    library checks).  The library itself refuses a label outside [0, classes)."""
    if _torch_tensor(x):
        import torch
        if tuple(x.shape) != (n,):
            raise _shape_error(what, x.shape, (n,), f"this trainer (batch {n})")
        if x.dtype.is_floating_point or x.dtype == torch.bool or x.dtype.is_complex:
            raise TypeError(f"freezebench: {what} is {x.dtype}; class indices (an "
                            f"integer tensor) are expected")
        if x.dtype != torch.int32 or x.device.type != "cpu" or not x.is_contiguous():
            _check_label_range(x.detach().cpu().numpy(), classes, what)
            buf = torch.empty((n,), dtype=torch.int32)
            buf.copy_(x.detach())
            x = buf
        return x.data_ptr(), x
    a = np.asarray(x)
    if a.shape != (n,):
        raise _shape_error(what, a.shape, (n,), f"this trainer (batch {n})")
    if a.dtype.kind not in "iu":
        raise TypeError(f"freezebench: {what} is {a.dtype}; class indices (an integer "
                        f"array) are expected")
    if a.dtype != np.int32:
        _check_label_range(a, classes, what)
    a = np.require(a, dtype=np.int32, requirements=("C", "A"))
    return a.ctypes.data, a


def _check_label_range(a, classes, what):
    bad = np.flatnonzero((a < 0) | (a >= classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"freezebench: {what}[{i}] = {a[i]} is not a class index in "
                         f"[0, {classes})")


# ---- the model -----------------------------------------------------------------------------

_SPEC_CHARS = set(",= :")   # what a name may not hold in a map, architecture or spec


class _ModelHandle:
    """The C model, shared by a Model and its trainers: freed once the Model is closed and
    no trainer is left, whatever order the garbage collector finalises them in (a
    trainer's fz_trainer_free reads its model; in a reference cycle the Model's
    finalizer may run first)."""

    def __init__(self, h):
        self.h, self.trainers, self.closed = h, 0, False

    def release(self):
        if self.closed and self.trainers == 0 and self.h:
            _capi.lib().fz_model_free(self.h)
            self.h = None


class Model:
    """An MLP in libfreezebench (fz_model): Linear layers with ReLU between them.

    Make one with Model.from_torch(sequential), Model.from_widths(widths) or
    Model.from_npz(path).  Parameter names are the module's own ("0.weight", "2.bias")
    for from_torch, fc1.weight, fc1.bias, ... for from_widths.  Free it with close() or a
    `with` block (also done when it is garbage-collected); closing a model closes its
    trainers first."""

    def __init__(self, handle):
        self._mh = _ModelHandle(handle)
        self._trainers = weakref.WeakSet()
        lib = _capi.lib()
        self.layers = lib.fz_layer_count(handle)
        self.widths = [lib.fz_width(handle, i) for i in range(self.layers + 1)]
        n = lib.fz_param_count(handle)
        self.names = [lib.fz_param_state_name(handle, i).decode() for i in range(n)]
        self.library_names = [lib.fz_param_name(handle, i).decode() for i in range(n)]
        # The module's name -> the library's fcK name (fz_param_name), for reading the
        # library's documentation and the sweep's fcK specs against a Sequential.
        self.name_map = dict(zip(self.names, self.library_names))

    # -- construction --

    @classmethod
    def from_widths(cls, widths, seed=1, bias=True):
        """fz_mlp_create_biases: widths = [in, h1, ..., out], nn.Linear's initialisation
        drawn from `seed`; bias True, False or one bool per layer."""
        widths = [int(w) for w in widths]
        layers = len(widths) - 1
        flags = [bool(bias)] * max(layers, 0) if isinstance(bias, (bool, int)) \
            else [bool(b) for b in bias]
        if len(flags) != max(layers, 0):
            raise ValueError(f"freezebench: bias has {len(flags)} flags for {layers} layers")
        c_w = (ctypes.c_size_t * len(widths))(*widths)
        c_b = (ctypes.c_bool * max(layers, 1))(*flags)
        h = check_handle(_capi.lib().fz_mlp_create_biases(c_w, len(widths), c_b,
                                                          int(seed)), "fz_mlp_create_biases")
        return cls(h)

    @classmethod
    def from_npz(cls, path):
        """fz_mlp_from_state_dict with no map: any MLP's state_dict saved by np.savez
        (scripts/export_mlp.py adds the architecture record it checks)."""
        h = check_handle(_capi.lib().fz_mlp_from_state_dict(os.fsencode(path), None),
                         "fz_mlp_from_state_dict")
        return cls(h)

    @classmethod
    def from_torch(cls, module):
        """A copy of an nn.Sequential of Linear and ReLU modules, its parameters and their
        requires_grad flags, under the module's own parameter names.

        Refused (ValueError), as the C library cannot train them as they are: any other
        module (Tanh, Dropout, a nested Sequential, ...), two Linear layers without a ReLU
        between them, a ReLU first or last, layers that do not chain; parameters that
        are not float32 (module.float() converts).  Bias-free Linear layers are fine."""
        import torch
        if not isinstance(module, torch.nn.Sequential):
            raise TypeError(f"freezebench: from_torch takes an nn.Sequential of Linear and "
                            f"ReLU, not {type(module).__name__}; export other modules with "
                            f"scripts/export_mlp.py and use Model.from_npz")
        linears, steps, prev = [], [], None
        for name, child in module.named_children():
            kind = type(child).__name__
            if kind not in ("Linear", "ReLU"):
                raise ValueError(f"freezebench: module '{name}' is {kind}; only Linear and "
                                 f"ReLU are supported")
            if _SPEC_CHARS & set(name) or any(c in name for c in "*?["):
                raise ValueError(f"freezebench: module name '{name}' holds a character "
                                 f"freezebench's names cannot (',', '=', ':', a space, a "
                                 f"glob character)")
            if kind == "Linear":
                if prev == "Linear":
                    raise ValueError(f"freezebench: module '{name}' is a Linear right after "
                                     f"Linear '{linears[-1][0]}'; freezebench needs a ReLU "
                                     f"between Linear layers")
                if linears and child.in_features != linears[-1][1].out_features:
                    raise ValueError(f"freezebench: Linear '{name}' takes "
                                     f"{child.in_features} inputs but '{linears[-1][0]}' "
                                     f"gives {linears[-1][1].out_features}")
                linears.append((name, child))
                steps.append(f"linear:{name}")
            else:
                if prev != "Linear":
                    raise ValueError(f"freezebench: ReLU '{name}' "
                                     + ("comes first" if prev is None else "follows a ReLU")
                                     + "; freezebench runs a ReLU only between Linear layers")
                steps.append(f"relu:{name}")
            prev = kind
        if not linears:
            raise ValueError("freezebench: the Sequential has no Linear layer")
        if prev == "ReLU":
            raise ValueError("freezebench: the Sequential ends with a ReLU; freezebench's "
                             "output layer is a Linear (put the ReLU in your loss)")
        arrays = {}
        for pname, p in module.named_parameters():
            if p.dtype != torch.float32:
                raise ValueError(f"freezebench: parameter '{pname}' is {p.dtype}; "
                                 f"freezebench trains float32 (module.float() converts)")
            # C order: the reader refuses fortran_order archives.
            arrays[pname] = np.ascontiguousarray(p.detach().cpu().numpy())
        # Through the library's own importer, so the model keeps the module's names (for
        # freeze globs, lookups, messages and save_npz) and the layout is checked by the
        # same rules as a file's.  The map fixes the layer order to the forward's.
        opts = _capi.NpzImport(
            ",".join(f"fc{i + 1}={n}" for i, (n, _) in enumerate(linears)).encode(),
            False, " ".join(steps).encode())
        with tempfile.TemporaryDirectory(prefix="freezebench-") as d:
            path = os.path.join(d, "module.npz")
            np.savez(path, **arrays)
            h = _capi.lib().fz_mlp_from_state_dict(path.encode(), ctypes.byref(opts))
            if not h:
                raise _capi.FreezebenchError(_capi.last_error().replace(path, "the module"),
                                             None, "fz_mlp_from_state_dict")
        model = cls(h)
        frozen = [n for n, p in module.named_parameters() if not p.requires_grad]
        if frozen:
            model.freeze(frozen)
        return model

    # -- lifetime --

    @property
    def handle(self):
        if self._mh.closed:
            raise ValueError("freezebench: the model is closed")
        return self._mh.h

    def close(self):
        """Closes the model's trainers, then frees the C model.  Idempotent."""
        mh = getattr(self, "_mh", None)
        if mh is not None and not mh.closed:
            for t in list(self._trainers):
                t.close()
            mh.closed = True
            mh.release()

    def __del__(self):
        try:
            self.close()
        except Exception:   # interpreter shutdown: the module's globals may be gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- freezing --

    @staticmethod
    def _spec(names):
        """A spec string as it is (globs, none, prefix:K, last, bitfit, comma lists), or a
        list of names and globs joined into one."""
        if isinstance(names, (str, bytes)):
            return names.encode() if isinstance(names, str) else names
        return ",".join(names).encode()

    def freeze(self, names):
        """requires_grad = False for every parameter the spec or list names: the model's
        names and globs over them ("0.weight", "0.*", "*.bias"), or none / prefix:K / last /
        bitfit.  A glob matching nothing raises, and then no flag changes."""
        check(_capi.lib().fz_freeze(self.handle, self._spec(names)), "fz_freeze")

    def unfreeze(self, names):
        check(_capi.lib().fz_unfreeze(self.handle, self._spec(names)), "fz_unfreeze")

    def requires_grad(self, name):
        self.shape(name)   # raises for an unknown name: fz_requires_grad's false would not
        return bool(_capi.lib().fz_requires_grad(self.handle, name.encode()))

    @property
    def trainable_elements(self):
        return _capi.lib().fz_trainable_elements(self.handle)

    @property
    def frozen_elements(self):
        return _capi.lib().fz_frozen_elements(self.handle)

    # -- parameters --

    def shape(self, name):
        """(out, in) of a weight, (out,) of a bias."""
        rows, cols = ctypes.c_size_t(), ctypes.c_size_t()
        check(_capi.lib().fz_param_shape(self.handle, name.encode(), ctypes.byref(rows),
                                         ctypes.byref(cols)), "fz_param_shape")
        # The library reports a bias as rows x 1; the name tells it from an n x 1 weight.
        return (rows.value,) if name.endswith(".bias") else (rows.value, cols.value)

    def _data(self, name):
        n = ctypes.c_size_t()
        p = _capi.lib().fz_param_data(self.handle, name.encode(), ctypes.byref(n))
        if not p:
            raise _capi.FreezebenchError(_capi.last_error(), "FZ_ENOTFOUND", "fz_param_data")
        return np.ctypeslib.as_array(p, shape=self.shape(name))

    def state_dict(self, as_torch=False):
        """Every parameter, copied, by name in state_dict order: NumPy float32 arrays, or
        tensors with as_torch=True.  Copies, not views: the library may repack a frozen
        weight, and a view would outlive close()."""
        out = collections.OrderedDict((n, self._data(n).copy()) for n in self.names)
        if as_torch:
            import torch
            out = collections.OrderedDict((n, torch.from_numpy(a)) for n, a in out.items())
        return out

    def load_state_dict(self, state):
        """Copies arrays or tensors into the parameters of the same names; every
        parameter must be given, with its shape (anything else: ValueError, and nothing
        is written)."""
        state = dict(state)
        missing = [n for n in self.names if n not in state]
        extra = [n for n in state if n not in self.names]
        if missing or extra:
            raise ValueError(f"freezebench: load_state_dict: missing {missing}, "
                             f"unexpected {extra}")
        arrays = {}
        for n in self.names:
            v = state[n]
            if _torch_tensor(v):
                v = v.detach().cpu().numpy()
            a = np.asarray(v)
            if a.shape != self.shape(n):
                raise _shape_error(n, a.shape, self.shape(n), "the model")
            arrays[n] = a
        for n, a in arrays.items():
            self._data(n)[...] = a   # fz_param_data marks a frozen weight for repacking

    def copy_to(self, module):
        """Writes the parameters into a torch module with the same names and shapes (the
        one from_torch copied, after training); requires_grad flags are left alone."""
        import torch
        params = dict(module.named_parameters())
        if sorted(params) != sorted(self.names):
            raise ValueError(f"freezebench: copy_to: the module's parameters "
                             f"{sorted(params)} are not the model's {sorted(self.names)}")
        with torch.no_grad():
            for n in self.names:
                params[n].copy_(torch.from_numpy(self._data(n)))

    def save_npz(self, path):
        check(_capi.lib().fz_save_npz(self.handle, os.fsencode(path)), "fz_save_npz")

    # -- inference --

    def forward(self, x):
        """The model's output for x (n x in): a NumPy array, or a tensor when x is one."""
        n = len(x)
        ptr, keep = as_float32(x, (n, self.widths[0]), "x", "the model")
        y = np.empty((n, self.widths[-1]), dtype=np.float32)
        check(_capi.lib().fz_forward(self.handle, n, ptr, y.ctypes.data), "fz_forward")
        if _torch_tensor(x):
            import torch
            return torch.from_numpy(y)
        return y

    __call__ = forward

    def evaluate(self, x, y=None, labels=None):
        """fz_evaluate: the mean MSE against y, or cross-entropy and accuracy against
        labels (give one of them)."""
        if (y is None) == (labels is None):
            raise ValueError("freezebench: evaluate takes y (MSE) or labels (cross-entropy)")
        n = len(x)
        xp, kx = as_float32(x, (n, self.widths[0]), "x", "the model")
        yp = lp = None
        if y is not None:
            yp, ky = as_float32(y, (n, self.widths[-1]), "y", "the model")
        else:
            lp, kl = as_labels(labels, n, self.widths[-1])
        out = _capi.Eval()
        check(_capi.lib().fz_evaluate(self.handle, LOSSES["mse" if y is not None else
                                                          "cross_entropy"],
                                      n, xp, yp, lp, ctypes.byref(out)), "fz_evaluate")
        return Evaluation(out.loss, out.accuracy, out.samples)

    def __repr__(self):
        state = "closed" if self._mh.closed else f"widths {self.widths}"
        return f"<freezebench.Model {state}>"


class Trainer:
    """A training step at a fixed batch size (fz_trainer_create_opts): loss "mse" or
    "cross_entropy", optimizer SGD(...) or AdamW(...).  It keeps its model alive; a
    freeze change on the model takes effect at the next step."""

    def __init__(self, model, batch, optimizer, loss="mse"):
        if loss not in LOSSES:
            raise ValueError(f"freezebench: loss '{loss}' is not one of {sorted(LOSSES)}")
        opts = _capi.TrainOpts()
        opts.loss = LOSSES[loss]
        if isinstance(optimizer, SGD):
            opts.optim = 0
            opts.sgd = _capi.Sgd(*optimizer)
        elif isinstance(optimizer, AdamW):
            opts.optim = 1
            opts.adamw = _capi.Adamw(optimizer.lr, optimizer.betas[0], optimizer.betas[1],
                                     optimizer.eps, optimizer.weight_decay)
        else:
            raise TypeError("freezebench: optimizer must be freezebench.SGD(...) or "
                            "freezebench.AdamW(...)")
        self._h = None
        self.model, self.batch, self.loss, self.optimizer = model, int(batch), loss, optimizer
        self._h = check_handle(_capi.lib().fz_trainer_create_opts(model.handle, self.batch,
                                                                  ctypes.byref(opts)),
                               "fz_trainer_create_opts")
        self._mh = model._mh
        self._mh.trainers += 1
        model._trainers.add(self)
        self._in = (self.batch, model.widths[0])
        self._out = (self.batch, model.widths[-1])
        self._why = (f"this trainer (batch {self.batch}, {model.widths[0]} inputs, "
                     f"{model.widths[-1]} outputs)")
        self._loss = ctypes.c_float()
        self._loss_ref = ctypes.byref(self._loss)

    @property
    def handle(self):
        if not self._h:
            raise ValueError("freezebench: the trainer is closed")
        return self._h

    def close(self):
        """Frees the C trainer (and the model's, if the model was closed).  Idempotent."""
        if getattr(self, "_h", None):
            _capi.lib().fz_trainer_free(self._h)
            self._h = None
            self._mh.trainers -= 1
            self._mh.release()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def step(self, x, y):
        """One training step on x (batch x in) and y: targets (batch x out, MSE) or class
        indices (batch, cross-entropy).  Returns the loss before the update.  Contiguous
        float32 (int32 labels) on the CPU are read in place; anything else is converted
        once (see as_float32)."""
        h = self.handle
        xp, kx = as_float32(x, self._in, "x", self._why)
        if self.loss == "mse":
            yp, ky = as_float32(y, self._out, "y", self._why)
            check(_capi.lib().fz_train_step(h, xp, yp, self._loss_ref), "fz_train_step")
        else:
            yp, ky = as_labels(y, self.batch, self.model.widths[-1])
            check(_capi.lib().fz_train_step_labels(h, xp, yp, self._loss_ref),
                  "fz_train_step_labels")
        return self._loss.value

    @property
    def steps(self):
        return _capi.lib().fz_trainer_steps(self.handle)

    def flops_planned(self):
        f = _capi.lib().fz_flops_planned(self.handle)
        return Flops(f.fwd, f.bwd, f.opt)

    def flops_executed(self):
        f = _capi.lib().fz_flops_executed(self.handle)
        return Flops(f.fwd, f.bwd, f.opt)

    def memory_used(self):
        m = _capi.lib().fz_memory_used(self.handle)
        return Memory(m.activations, m.gradients, m.optimizer, m.packed)

    def layer_plan(self, layer):
        p = _capi.LayerPlan()
        check(_capi.lib().fz_layer_plan_get(self.handle, layer, ctypes.byref(p)),
              "fz_layer_plan_get")
        return LayerPlan(p.need_dW, p.need_db, p.need_dX)
