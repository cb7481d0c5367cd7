#!/usr/bin/python3
"""freezebench.sweep() returns the rows of the CSV freeze_sweep writes.

usage: FREEZEBENCH_SWEEP=build/bench/freeze_sweep FREEZEBENCH_LIBRARY=... PYTHONPATH=python \
           /usr/bin/python3 tests/python_sweep_check.py

  - sweep(model="10,5,1@8", spec=[prefix:1, fc2.*], threads=1, quick=True, output=PATH)
    returns exactly the rows csv.DictReader reads from PATH, keys in the header's order,
    values as the file's text; the rows are the configurations asked for (model 10,5,1,
    batch 8, specs none + the two, 1 thread), and each spec's trainable_params is what
    the package's own Model.freeze leaves trainable on the same widths;
  - without output, the CSV is a temporary file: the same configurations come back and
    no file is left behind;
  - freeze_sweep's refusal of a bad option raises SweepError with its exit status 2 and
    its message; FREEZEBENCH_SWEEP naming no program raises FileNotFoundError.
Exit 0 when all hold, 1 otherwise, 77 (meson's SKIP) without FREEZEBENCH_SWEEP (a build
without the benchmarks) or NumPy.
"""
import csv
import glob
import os
import sys
import tempfile

if not os.environ.get("FREEZEBENCH_SWEEP"):
    print("SKIP: FREEZEBENCH_SWEEP is not set (no freeze_sweep in this build)")
    sys.exit(77)
try:
    import numpy  # noqa: F401  (the package needs it)
except ImportError as e:
    print(f"SKIP: cannot import NumPy ({e})")
    sys.exit(77)

import freezebench as fb

from pycheck import check, finish  # noqa: E402


SPECS = ["prefix:1", "fc2.*"]
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "sweep.csv")
    rows = fb.sweep(model="10,5,1@8", spec=SPECS, threads=1, quick=True, allow_dirty=True,
                    output=path)
    with open(path, newline="") as f:
        header = next(csv.reader(f))
        f.seek(0)
        file_rows = list(csv.DictReader(f))
check(len(rows) > 0 and rows == file_rows, f"{len(rows)} rows, equal to the file's")
check(all(list(r) == header for r in rows), "every row's keys are the header, in order")
check(all(isinstance(v, str) for r in rows for v in r.values()), "values are the CSV's text")
check({r["model"] for r in rows} == {"10,5,1"} and {r["batch"] for r in rows} == {"8"}
      and {r["threads"] for r in rows} == {"1"},
      "model 10,5,1, batch 8, 1 thread")
check({r["freeze_spec"] for r in rows} == {"none", *SPECS},
      f"specs none and {SPECS}: {sorted({r['freeze_spec'] for r in rows})}")
for spec in ["none"] + SPECS:
    m = fb.Model.from_widths([10, 5, 1])
    if spec != "none":
        m.freeze(spec)
    got = {r["trainable_params"] for r in rows if r["freeze_spec"] == spec}
    check(got == {str(m.trainable_elements)},
          f"{spec}: trainable_params {got} = Model.freeze's {m.trainable_elements}")
    m.close()

before = set(glob.glob(os.path.join(tempfile.gettempdir(), "freezebench-sweep-*")))
again = fb.sweep(model="10,5,1@8", spec=SPECS, threads=1, allow_dirty=True)
key = lambda r: (r["freeze_spec"], r["phase"], r["flops_planned"], r["trainable_params"])
check(sorted(map(key, again)) == sorted(map(key, rows)),
      "a second sweep through a temporary file: the same configurations and FLOPs")
check(set(glob.glob(os.path.join(tempfile.gettempdir(), "freezebench-sweep-*"))) <= before,
      "the temporary CSV is removed")

try:
    fb.sweep(model="10,5,1@8", spec="prefix:x", allow_dirty=True)
    check(False, "a bad spec raises SweepError")
except fb.SweepError as e:
    check(e.returncode == 2 and "--spec" in str(e), f"a bad spec: SweepError, exit 2: {e}")

os.environ["FREEZEBENCH_SWEEP"] = os.path.join(tempfile.gettempdir(), "no-such-freeze-sweep")
try:
    fb.sweep(model="10,5,1@8")
    check(False, "FREEZEBENCH_SWEEP naming no program raises")
except FileNotFoundError as e:
    check("FREEZEBENCH_SWEEP" in str(e), f"FREEZEBENCH_SWEEP naming no program: {e}")

finish()
