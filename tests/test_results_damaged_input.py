#!/usr/bin/python3
"""Damaged results CSVs (issue 24, item 16): the report and comparison scripts ended in a
traceback (exit 1, where exit 2 is documented for unusable input) on bytes that are not
UTF-8, a `threads` or a time that is not a number, and a short row.  Each such file must
make results/make_report.py and results/compare_runs.py exit 2 with one line naming the
file and the line, and results/runs.py's load() raise InputError saying the same.  A FIFO
named like a CSV in a folder is left alone instead of blocking the reading.

usage: test_results_damaged_input.py results/
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_results as syn  # noqa: E402

results_dir = os.path.abspath(sys.argv[1])
make_report = os.path.join(results_dir, "make_report.py")
compare_runs = os.path.join(results_dir, "compare_runs.py")
sys.path.insert(0, results_dir)
spec = importlib.util.spec_from_file_location("runs", os.path.join(results_dir, "runs.py"))
runs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runs)
problems = []

MACHINE = syn.machine(4, system_id="sys-a", uarch="Emerald Rapids", peak_isa="avx512")
ROWS = syn.sweep(MACHINE)


def damaged_row(column, value, row=5):
    """The sweep with one value replaced; the row is on line row + 2 (header is 1)."""
    rows = [dict(r) for r in ROWS]
    rows[row][column] = value
    return rows


def write_rows(path, rows):
    syn.write(path, rows, 4)


def bytes_of(rows):
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
        name = f.name
    try:
        write_rows(name, rows)
        with open(name, "rb") as f:
            return f.read()
    finally:
        os.unlink(name)


GOOD = bytes_of(ROWS)
LINES = GOOD.split(b"\r\n")


def with_line(n, text):
    """GOOD with line n (1-based) replaced by `text` (bytes)."""
    lines = list(LINES)
    lines[n - 1] = text
    return b"\r\n".join(lines)


# (what, file contents, line the message must name)
CASES = [
    ("a byte that is not UTF-8", with_line(4, LINES[3].replace(b"Debian", b"Deb\xffian")), 4),
    ("threads not a number", bytes_of(damaged_row("threads", "two")), 7),
    ("batch not a number", bytes_of(damaged_row("batch", "8.5")), 7),
    ("a median time not a number", bytes_of(damaged_row("time_median_s", "fast")), 7),
    ("a minimum time not a number", bytes_of(damaged_row("time_min_s", "1e-6s")), 7),
    ("ranks not a number", bytes_of(damaged_row("ranks", "two")), 7),
    ("a short row", with_line(9, LINES[8][:len(LINES[8]) // 2]), 9),
    ("a row with a field too many", with_line(6, LINES[5] + b",extra"), 6),
    ("a file cut inside its last row", GOOD.rstrip(b"\r\n")[:-200], len(LINES) - 1),
]

with tempfile.TemporaryDirectory() as d:
    good = os.path.join(d, "good.csv")
    with open(good, "wb") as f:
        f.write(GOOD)
    for what, data, line in CASES:
        folder = os.path.join(d, what.replace(" ", "_"))
        os.makedirs(folder)
        bad = os.path.join(folder, "bad.csv")
        with open(bad, "wb") as f:
            f.write(data)
        where = f"{bad} line {line}"
        try:
            runs.load([bad])
            problems.append(f"{what}: runs.load read it")
        except runs.InputError as e:
            if where not in str(e):
                problems.append(f"{what}: runs.load says {e!r}, not naming {where!r}")
        except Exception as e:        # noqa: BLE001 (what the damage used to raise)
            problems.append(f"{what}: runs.load raised {e!r}, not InputError")
        for argv in ([make_report, folder, "--no-plots", "-o", os.path.join(folder, "R.md")],
                     [compare_runs, good, bad], [compare_runs, bad]):
            p = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                               timeout=120)
            name = os.path.basename(argv[0])
            if p.returncode != 2 or "Traceback" in p.stderr or where not in p.stderr:
                problems.append(f"{what}: {name} exit {p.returncode}, stderr "
                                f"{p.stderr[-600:]!r}; want exit 2 naming {where!r}")
        if os.path.exists(os.path.join(folder, "R.md")):
            problems.append(f"{what}: make_report wrote a report")

    # A FIFO named like a CSV beside a good file: read past, not waited on forever.
    folder = os.path.join(d, "fifo")
    os.makedirs(folder)
    with open(os.path.join(folder, "good.csv"), "wb") as f:
        f.write(GOOD)
    os.mkfifo(os.path.join(folder, "zz.csv"))
    try:
        p = subprocess.run([sys.executable, make_report, folder, "--no-plots"],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            problems.append(f"a FIFO in the folder: make_report exit {p.returncode}: "
                            f"{p.stderr[-400:]}")
    except subprocess.TimeoutExpired:
        problems.append("a FIFO in the folder: make_report blocked on it")
    p = subprocess.run([sys.executable, make_report, os.path.join(folder, "zz.csv")],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 2 or "not a regular file" not in p.stderr:
        problems.append(f"a FIFO named: make_report exit {p.returncode}: {p.stderr[-400:]}")

if problems:
    sys.exit("damaged results input:\n  " + "\n  ".join(problems))
print(f"damaged results input: {len(CASES)} kinds of damage, each exit 2 naming file and line")
