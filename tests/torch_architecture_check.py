#!/usr/bin/python3
"""The model is what it says it is: archives written by scripts/export_mlp.py.

usage: /usr/bin/python3 tests/torch_architecture_check.py PATH/TO/freezebench

- A Sequential of Linear and ReLU: `freezebench params` accepts it with no note, and
  `train` then `eval` give PyTorch's loss.
- A Sequential with Tanh between its Linear layers: `train` refuses it (exit 1), naming
  the tanh step; so does `--architecture "linear relu linear"` on an archive that
  records tanh.
- A LayerNorm inside the network: refused with --ignore-unknown too, by the record's
  step, and without a record by its parameters (keeping them aside would train without
  it).
- A trailing ReLU after the last Linear: refused.
- The same archive without the record (plain np.savez): accepted with a note that ReLU
  is assumed; `--architecture "linear relu linear"` silences the note and a stated
  "linear tanh linear" is refused.

Exit status: 0 passed, 1 a mismatch, 77 (meson's SKIP) without PyTorch/NumPy.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    print(f"SKIP: cannot import PyTorch/NumPy ({e})")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from export_mlp import save  # noqa: E402


def run(exe, *args):
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def main():
    exe = sys.argv[1]
    torch.manual_seed(0)
    problems = []
    with tempfile.TemporaryDirectory(prefix="fz_arch_") as tmp:
        def path(name):
            return os.path.join(tmp, name)
        x = torch.randn(32, 6)
        y = torch.randn(32, 3)
        np.savez(path("data.npz"), x=x.numpy(), y=y.numpy())
        cases = {
            "relu": nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)),
            "tanh": nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)),
            "layernorm": nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.ReLU(),
                                       nn.Linear(8, 3)),
            "trailing": nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3), nn.ReLU()),
        }
        records = {name: save(m, path(f"{name}.npz")) for name, m in cases.items()}
        # The LayerNorm without the record: its parameters alone give it away.
        np.savez(path("plain_layernorm.npz"), **{k: v.numpy() for k, v in
                                                  cases["layernorm"].state_dict().items()})
        print("records:", records)
        train = ["train", "--data", path("data.npz"), "--epochs", "1", "--batch", "8",
                 "--lr", "0.01", "--out", path("out.npz")]

        rc, out, err = run(exe, "params", path("relu.npz"))
        if rc != 0 or "assume" in err or "ReLU is" in err:
            problems.append(f"relu: params exit {rc}, stderr {err!r}")
        rc, out, err = run(exe, *train, "--model", path("relu.npz"))
        if rc != 0:
            problems.append(f"relu: train exit {rc}: {err}")
        else:
            rc, out, err = run(exe, "eval", "--model", path("out.npz"), "--data", path("data.npz"))
            got = dict(np.load(path("out.npz")))
            m = cases["relu"]
            m.load_state_dict({k: torch.from_numpy(v) for k, v in got.items()
                               if not k.startswith("_")})
            want = nn.MSELoss()(m(x), y).item()
            if rc != 0 or abs(float(out.split()[1]) - want) > 1e-4:
                problems.append(f"relu: eval '{out.strip()}' vs PyTorch {want:.4f} ({err})")
            # The trained archive says what it computes as its input did: the same
            # record, as uint8, and eval has no ReLU to assume.
            rec = got.get("_freezebench_architecture")
            if rec is None or rec.dtype != np.uint8 or \
                    bytes(rec).decode() != records["relu"] or "ReLU between them" in err:
                problems.append(f"relu: out.npz record {rec!r} (wanted {records['relu']!r} "
                                f"as uint8), eval stderr {err!r}")

        for name, needle, extra in [("tanh", "tanh:1", []),
                                    ("tanh", "tanh:1", ["--architecture", "linear relu linear"]),
                                    ("layernorm", "layernorm:1", ["--ignore-unknown"]),
                                    ("plain_layernorm", "'1.weight' is a parameter",
                                     ["--ignore-unknown"]),
                                    ("trailing", "after the last Linear", [])]:
            rc, out, err = run(exe, *train, "--model", path(f"{name}.npz"), *extra)
            if rc != 1 or needle not in err or os.path.exists(path("never.npz")):
                problems.append(f"{name} {extra}: exit {rc}, stderr {err!r} (wanted 1 and "
                                f"{needle!r})")

        # Without the record: ReLU assumed, said once; stated, no note; stated wrong, refused.
        plain = {k: v for k, v in np.load(path("tanh.npz")).items() if not k.startswith("_")}
        np.savez(path("plain.npz"), **plain)
        rc, out, err = run(exe, "params", path("plain.npz"))
        if rc != 0 or "trained with ReLU between them" not in err:
            problems.append(f"plain: exit {rc}, stderr {err!r} (wanted the ReLU note)")
        rc, out, err = run(exe, "params", path("plain.npz"), "--architecture", "linear relu linear")
        if rc != 0 or "ReLU between them" in err:
            problems.append(f"plain stated relu: exit {rc}, stderr {err!r}")
        rc, out, err = run(exe, "params", path("plain.npz"), "--architecture", "linear tanh linear")
        if rc != 1 or "'tanh'" not in err:
            problems.append(f"plain stated tanh: exit {rc}, stderr {err!r}")
        # An archive without a record trains to one without a record: load_state_dict
        # (strict=True) takes it back as it took the input.
        relu_plain = {k: v for k, v in np.load(path("relu.npz")).items() if not k.startswith("_")}
        np.savez(path("relu_plain.npz"), **relu_plain)
        rc, out, err = run(exe, *train, "--model", path("relu_plain.npz"))
        if rc != 0 or set(np.load(path("out.npz")).keys()) != set(relu_plain):
            problems.append(f"relu_plain: train exit {rc}, out.npz holds "
                            f"{sorted(np.load(path('out.npz')).keys()) if rc == 0 else None}")
    for p in problems:
        print("FAIL", p)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
