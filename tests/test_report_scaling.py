#!/usr/bin/python3
"""results/make_report.py grows about linearly with the rows (issue 24, item 10: 6k rows
took 0.9 s, 24k rows 38.6 s, 100k were still running at 300 s: lists searched with `in`
and index(), and the rows scanned once per model or per file).

Nothing is timed.  The work is counted: every line the report's own modules run
(sys.settrace) plus every string comparison (the rows' values are a str subclass that
counts its __eq__ calls, so a list scanned with `in` or index() counts too).  For each
shape that grows in one direction (GEMM shapes, models, freeze specs, files), the report
of twice the rows must cost at most 2.25 times the work of the smaller one: linear work
doubles (the report measures 1.96-2.00 here), n log n a little more, and quadratic work
tends to 4× (the quadratic report measured 2.5-3.2× at these sizes).  Schema-3 rows (no samples)
keep the bootstraps out; plots are off (matplotlib is not ours to count).

usage: test_report_scaling.py results/make_report.py
"""
import importlib.util
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_results as syn  # noqa: E402

make_report_path = os.path.abspath(sys.argv[1])
results_dir = os.path.dirname(make_report_path)
sys.path.insert(0, results_dir)
spec = importlib.util.spec_from_file_location("make_report", make_report_path)
make_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_report)
runs = make_report.runs

LIMIT = 2.25
work = [0]


class Counted(str):
    """A str whose comparisons for equality are counted."""
    __slots__ = ()
    __hash__ = str.__hash__

    def __eq__(self, other):
        work[0] += 1
        return str.__eq__(self, other)

    def __ne__(self, other):
        work[0] += 1
        return str.__ne__(self, other)


def tracer(frame, event, arg):
    """Counts the lines run in results/*.py (and nowhere else)."""
    if not frame.f_code.co_filename.startswith(results_dir):
        return None

    def line(frame, event, arg):
        if event == "line":
            work[0] += 1
        return line
    return line


def cost(rows_of_files):
    """The counted work of building the report of these files (lists of row dicts)."""
    with tempfile.TemporaryDirectory() as d:
        for i, rows in enumerate(rows_of_files):
            syn.write(os.path.join(d, f"run-{i}.csv"), rows, 3)
        rows, skipped = runs.load([d])
        rows = [{k: Counted(v) if isinstance(v, str) else v for k, v in r.items()}
                for r in rows]
        args = make_report.parse_args([d, "--no-plots", "-o", os.path.join(d, "R.md")])
        work[0] = 0
        sys.settrace(tracer)
        try:
            text = make_report.build(rows, skipped, args, d, [])
        finally:
            sys.settrace(None)
        assert "## System" in text
        return work[0]


MACHINE = syn.machine(3, system_id="sys-a", uarch="Emerald Rapids", peak_isa="avx512")
BASE_SWEEP = syn.sweep(MACHINE)          # 2 threads × 4 specs × 4 phases of model 16x3
BASE_KERNELS = syn.kernels(MACHINE)


def models(n, own_spec=False, revision=None):
    """The sweep of n models 16x3, 17x3, ...; with own_spec each model's `last` spec is a
    glob of its own (fc<i>.*), so the specs grow with the models."""
    rows = []
    for i in range(n):
        for r in BASE_SWEEP:
            r = dict(r, model=f"{16 + i}x3")
            if own_spec and r["freeze_spec"] == "last":
                r["freeze_spec"] = f"fc{i}.*"
            if revision:
                r["git_revision"] = revision
            rows.append(r)
    return rows


def gemm_shapes(n):
    """Kernel rows with n GEMM shapes per kernel and implementation."""
    rows = []
    for i in range(n):
        for r in BASE_KERNELS:
            if r["phase"].startswith("sgemm"):
                M, N, K = r["model"].split("x")
                rows.append(dict(r, model=f"{int(M) + i}x{N}x{K}", batch=str(int(M) + i)))
            elif i == 0:
                rows.append(dict(r))
    return rows


SHAPES = {
    "GEMM shapes": lambda n: [gemm_shapes(150 * n)],
    "models": lambda n: [models(40 * n)],
    "freeze specs": lambda n: [models(40 * n, own_spec=True)],
    "files": lambda n: [models(1, revision=f"r{i}") for i in range(40 * n)],
}

problems = []
for name, make in SHAPES.items():
    small, large = cost(make(1)), cost(make(2))
    ratio = large / small
    print(f"{name}: work {small} -> {large} for twice the rows ({ratio:.2f}×)")
    if ratio > LIMIT:
        problems.append(f"{name}: twice the rows cost {ratio:.2f}× the work (limit {LIMIT}×)")
if problems:
    sys.exit("make_report scaling:\n  " + "\n  ".join(problems))
print("make_report scaling: about linear")
