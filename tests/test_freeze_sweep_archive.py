#!/usr/bin/python3
"""freeze_sweep --model M.npz: a user's own archive, swept under its own names.

usage: test_freeze_sweep_archive.py PATH/TO/freeze_sweep

An nn.Sequential-style state_dict (0.weight, 2.weight, ... with biases, written by NumPy)
is swept: without --spec its default specs are the archive's (the middle layer alone is
"2.*", not "fc2.*"), the table names the model by its file, and the CSV's rows carry the
archive's parameter counts; --spec takes the archive's names ("4.weight") and refuses the
library's own ("fc1.*": fits none, exit 2); a file that is no model archive is refused
before anything runs (exit 2, naming the file).

Exit status: 0 passed, 1 failed, 77 without NumPy.
"""
import csv
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIP: no NumPy")
    sys.exit(77)


def main():
    exe = sys.argv[1]
    problems = []
    with tempfile.TemporaryDirectory(prefix="fz_sweep_archive_") as tmp:
        rng = np.random.default_rng(3)
        widths = [12, 16, 16, 16, 4]
        arrays = {}
        for l in range(4):
            arrays[f"{2 * l}.weight"] = rng.standard_normal((widths[l + 1], widths[l]),
                                                            dtype=np.float32) * 0.3
            arrays[f"{2 * l}.bias"] = np.zeros(widths[l + 1], dtype=np.float32)
        model = os.path.join(tmp, "seq.npz")
        np.savez(model, **arrays)
        base = [exe, "--threads", "1", "--repetitions", "6", "--min-time", "0.001",
                "--quick-probes", "--allow-dirty"]

        out = os.path.join(tmp, "out.csv")
        r = subprocess.run(base + ["--model", model + "@8", "--output", out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"default specs: exit {r.returncode}: {r.stderr[-400:]}")
        else:
            rows = list(csv.DictReader(open(out)))
            specs = {row["freeze_spec"] for row in rows}
            if "2.*" not in specs or any(s.startswith("fc") for s in specs):
                problems.append(f"default specs {sorted(specs)}: want the archive's 2.*")
            if {row["model"] for row in rows} != {"seq.npz"}:
                problems.append(f"model column {sorted({row['model'] for row in rows})}")
            total = sum(a.size for a in arrays.values())
            none = [row for row in rows if row["freeze_spec"] == "none"]
            if not none or float(none[0]["trainable_params"]) != total:
                problems.append(f"none's trainable_params: want {total}")
            two = [row for row in rows if row["freeze_spec"] == "2.*"]
            want = total - arrays["2.weight"].size - arrays["2.bias"].size
            if not two or float(two[0]["trainable_params"]) != want:
                problems.append(f"2.*'s trainable_params: want {want}")

        r = subprocess.run(base + ["--model", model, "--spec", "4.weight", "--no-csv"],
                           capture_output=True, text=True)
        if r.returncode != 0 or "4.weight" not in r.stdout:
            problems.append(f"--spec 4.weight: exit {r.returncode}: {r.stderr[-300:]}")
        r = subprocess.run(base + ["--model", model, "--spec", "fc1.*", "--no-csv"],
                           capture_output=True, text=True)
        if r.returncode != 2 or "fits none" not in r.stderr:
            problems.append(f"--spec fc1.*: exit {r.returncode}, {r.stderr[-300:]!r}")
        bad = os.path.join(tmp, "not_a_model.npz")
        with open(bad, "wb") as f:
            f.write(b"not a zip")
        r = subprocess.run(base + ["--model", bad, "--no-csv"], capture_output=True, text=True)
        if r.returncode != 2 or "not_a_model.npz" not in r.stderr:
            problems.append(f"bad archive: exit {r.returncode}, {r.stderr[-300:]!r}")
    for p in problems:
        print("FAIL", p)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
