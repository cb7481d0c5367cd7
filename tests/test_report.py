#!/usr/bin/python3
"""results/make_report.py on synthetic CSVs (tests/synthetic_results.py): two schema-2
systems with the same cpu_model and host but other system_ids must be two sections, with
a CPU-vs-CPU table; two schema-1 files of the same CPU model but other L3 sizes two more,
said to predate the system description; a 2-thread row slower than 1 thread and a noisy
row must be warned about; numbers in scaled units, no exponents; every plot written.  A
schema-3 file of a 2-rank data-parallel run on system A shows as its own rows
("freezebench ×2 ranks"), never paired with the 1-rank rows.

usage: test_report.py results/make_report.py
"""
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_results as syn  # noqa: E402

make_report = os.path.abspath(sys.argv[1])
problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, os.path.dirname(make_report))
runs = load("runs", os.path.join(os.path.dirname(make_report), "runs.py"))

# Units scaled per value, 3 significant digits, never an exponent.
for got, want in ((runs.fmt_flop(8512), "8.51 kFLOP"), (runs.fmt_flop(8.058e9), "8.06 GFLOP"),
                  (runs.fmt_time(0.001622), "1.62 ms"), (runs.fmt_time(5.9475e-07), "595 ns"),
                  (runs.fmt_time(3.2e-5), "32.0 µs"), (runs.fmt_time(2.5), "2.50 s"),
                  (runs.sig(9.996), "10.0"), (runs.sig(1234.5), "1230"),
                  (runs.fmt_time_span(0.0797, 0.0787, 0.0821), "79.7 ms [78.7–82.1]"),
                  (runs.fmt_bytes(32768), "32 KiB")):
    check(got == want, f"formatted {got!r}, want {want!r}")

# Schema 2 names the peak's ISA; schema 1 on x86 was the AVX2 probe.
plots = load("plots", os.path.join(os.path.dirname(make_report), "plots.py"))
v2_label = plots.peak_label([syn.machine(2, peak_isa="avx512")], 200.0)
v1_label = plots.peak_label([syn.machine(1)], 100.0)
check("avx512 probe" in v2_label, f"v2 peak label {v2_label!r}")
check("avx2 probe" in v1_label, f"v1 peak label {v1_label!r}")

help_run = subprocess.run([sys.executable, make_report, "--help"], capture_output=True, text=True)
check(help_run.returncode == 0 and "usage:" in help_run.stdout,
      f"--help: status {help_run.returncode}, {help_run.stderr[-300:]}")

A, B = "intel-emerald-rapids-avx512", "intel-emerald-rapids-kvm-avx2"
with tempfile.TemporaryDirectory() as d:
    a = syn.machine(2, system_id=A, uarch="Emerald Rapids", peak_isa="avx512")
    b = syn.machine(2, system_id=B, uarch="Emerald Rapids", peak_isa="avx2")

    def slow_two_threads(spec, threads, phase):
        # A noisy neighbour: system A's 2-thread step of prefix:1 slower than 1 thread.
        return 9e-6 if (spec, threads, phase) == ("prefix:1", 2, "step") else None

    rows_a = syn.sweep(a, time_of=slow_two_threads) + syn.kernels(a)
    noisy = next(r for r in rows_a if r["phase"] == "optimizer" and r["threads"] == "1")
    noisy["time_max_s"] = repr(3 * float(noisy["time_min_s"]))
    syn.write(os.path.join(d, "a.csv"), rows_a, 2)
    syn.write(os.path.join(d, "pytorch-a.csv"), syn.sweep(a, impl="pytorch", scale=20), 2)
    syn.write(os.path.join(d, "b.csv"), syn.sweep(b, scale=1.3) + syn.kernels(b, scale=1.3), 2)
    a3 = dict(a, schema_version="3")
    syn.write(os.path.join(d, "a-r2.csv"), syn.sweep(a3, ranks=2, threads=(1,), scale=0.7), 3)
    syn.write(os.path.join(d, "old.csv"), syn.sweep(syn.machine(1), scale=1.1), 1)
    syn.write(os.path.join(d, "old-other-l3.csv"),
              syn.sweep(syn.machine(1, l3=2**24), scale=1.2), 1)
    with open(os.path.join(d, "future.csv"), "w") as f:
        f.write("schema_version,bench\r\n9,freeze_sweep\r\n")
    out = os.path.join(d, "report", "REPORT.md")
    run = subprocess.run([sys.executable, make_report, d, "-o", out], capture_output=True,
                         text=True)
    check(run.returncode == 0, f"make_report exited {run.returncode}: {run.stderr[-2000:]}")
    report = open(out).read() if os.path.exists(out) else ""
    sections = re.findall(r"^## System `([^`]+)`", report, re.M)
    check(len(sections) == 4, f"sections {sections}, want 2 schema-2 and 2 schema-1 systems")
    check(A in sections and B in sections, f"no section of {A} and {B}: {sections}")
    check(report.count("predate the system description") == 2,
          "the schema-1 sections do not say the files predate the system description")
    check("## CPU vs CPU" in report, "no CPU vs CPU table")
    cpu_vs_cpu = report.partition("## CPU vs CPU")[2].partition("## System")[0]
    check("1.30×" in cpu_vs_cpu, "CPU vs CPU table lacks system B's 1.30× ratio")
    check("Slower with more threads" in report and "prefix:1` step" in report,
          "no warning for the 2-thread step slower than 1 thread")
    check("**Noisy**" in report and "max/min 3.00×" in report, "no noisy-row warning")
    check("### freezebench vs PyTorch" in report and "20.0×" in report,
          "no freezebench vs PyTorch table with the 20× ratio")
    check("### Threads" in report and "### Kernels" in report, "threads or kernel table missing")
    section_a = report.partition(f"## System `{A}`")[2].partition("## System")[0]
    check(section_a.count("| freezebench ×2 ranks | 1 |") == 4,
          "system A's sweep table lacks the 4 specs of its 2-rank run")
    vs_pytorch = section_a.partition("### freezebench vs PyTorch")[2].partition("###")[0]
    check("1.00×" not in vs_pytorch and vs_pytorch.count("\n| 16x3 |") == 8,
          "the PyTorch table mixes in the 2-rank rows")
    check("future.csv" in report and "Skipped" in report, "the schema-9 file is not listed as skipped")
    check("µs" in report and "kFLOP" in report, "no scaled units in the tables")
    exponent = re.search(r"\d[eE][+-]?\d", report)
    check(exponent is None, f"a number with an exponent: {report[max(exponent.start() - 40, 0):exponent.end() + 10]!r}"
          if exponent else "")
    for sid in (A, B):
        for kind in ("sweep", "gemm"):
            png = os.path.join(d, "report", f"{kind}-{sid}.png")
            check(os.path.isfile(png) and os.path.getsize(png) > 1000, f"{png} missing or empty")
            check(f"]({kind}-{sid}.png)" in report, f"the report does not link {kind}-{sid}.png")
    old_pngs = [f for f in os.listdir(os.path.join(d, "report")) if f.startswith("sweep-")]
    check(len(old_pngs) == 4, f"sweep plots {old_pngs}, want one per system")

    bad = subprocess.run([sys.executable, make_report, os.path.join(d, "missing")],
                         capture_output=True, text=True)
    check(bad.returncode == 2, f"a missing input exited {bad.returncode}, want 2")

if problems:
    sys.exit("test_report: " + "; ".join(problems))
print("test_report: 4 systems, warnings, units and plots as expected")
