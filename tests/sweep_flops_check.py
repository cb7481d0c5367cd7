#!/usr/bin/python3
"""The PyTorch sweep's planned FLOPs (bench/pytorch_sweep.py) must equal the library's
own plan (fz_flops_planned, fz_bwd_planned), so both impls' rows in results/ count the
same work.  Loads the built shared library with ctypes; needs neither NumPy nor torch.

usage: tests/sweep_flops_check.py PATH/TO/libfreezebench.so PATH/TO/bench/pytorch_sweep.py
"""
import ctypes as C
import importlib.util
import sys


class Flops(C.Structure):
    _fields_ = [("fwd", C.c_double), ("bwd", C.c_double), ("opt", C.c_double)]


class Split(C.Structure):
    _fields_ = [("dgrad", C.c_double), ("wgrad", C.c_double)]


class Sgd(C.Structure):
    _fields_ = [("lr", C.c_float), ("momentum", C.c_float), ("weight_decay", C.c_float)]


def main():
    lib = C.CDLL(sys.argv[1])
    spec = importlib.util.spec_from_file_location("pytorch_sweep", sys.argv[2])
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    lib.fz_mlp_create.restype = C.c_void_p
    lib.fz_mlp_create.argtypes = [C.POINTER(C.c_size_t), C.c_size_t, C.c_uint64]
    lib.fz_model_free.argtypes = [C.c_void_p]
    lib.fz_freeze.argtypes = [C.c_void_p, C.c_char_p]
    lib.fz_trainer_create.restype = C.c_void_p
    lib.fz_trainer_create.argtypes = [C.c_void_p, C.c_size_t, Sgd]
    lib.fz_trainer_free.argtypes = [C.c_void_p]
    lib.fz_train_step.argtypes = [C.c_void_p, C.c_void_p, C.c_void_p, C.c_void_p]
    lib.fz_flops_planned.restype = Flops
    lib.fz_flops_planned.argtypes = [C.c_void_p]
    lib.fz_bwd_planned.restype = Split
    lib.fz_bwd_planned.argtypes = [C.c_void_p]

    checked, problems = 0, []
    for widths, batch in [([10, 5, 1], 64), ([16] * 9, 8), ([12, 32, 24, 16, 3], 20)]:
        L = len(widths) - 1
        names = [f"fc{i + 1}.{k}" for i in range(L) for k in ("weight", "bias")]
        for spec_text in ["none", "prefix:2", "prefix:4", "prefix:7", "fc4.*", "last",
                          "bitfit", "fc2.weight", "fc1.bias"]:
            frozen = sweep.frozen_names(spec_text, names, L)
            if frozen is None or len(frozen) == len(names):
                continue
            for momentum, wd in [(0.0, 0.0), (0.9, 0.0), (0.9, 1e-3)]:
                w = (C.c_size_t * len(widths))(*widths)
                m = lib.fz_mlp_create(w, len(widths), 1)
                if lib.fz_freeze(m, spec_text.encode()) != 0:
                    problems.append(f"{widths} {spec_text}: fz_freeze refused it")
                    continue
                t = lib.fz_trainer_create(m, batch, Sgd(0.01, momentum, wd))
                x = (C.c_float * (batch * widths[0]))()
                y = (C.c_float * (batch * widths[-1]))()
                lib.fz_train_step(t, x, y, None)
                f, s = lib.fz_flops_planned(t), lib.fz_bwd_planned(t)
                ours = dict(forward=f.fwd, backward=f.bwd, optimizer=f.opt,
                            step=f.fwd + f.bwd + f.opt, dgrad=s.dgrad, wgrad=s.wgrad)
                theirs = sweep.planned_flops(widths, batch, frozen, momentum, wd)
                for k, v in ours.items():
                    if v != theirs[k]:
                        problems.append(f"{widths} B={batch} {spec_text} momentum={momentum} "
                                        f"wd={wd} {k}: library {v:.0f}, sweep {theirs[k]:.0f}")
                checked += 1
                lib.fz_trainer_free(t)
                lib.fz_model_free(m)
    for p in problems:
        print("FAIL", p)
    print(f"{checked} configurations compared, {len(problems)} mismatches")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
