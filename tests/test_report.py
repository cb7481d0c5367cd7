#!/usr/bin/python3
"""results/make_report.py on synthetic CSVs (tests/synthetic_results.py):

- system A (schema 4) from three files of three revisions, one of them a dirty build
  (a 2-rank data-parallel run), with PyTorch rows; system B (schema 4), the same sweep
  1.3× slower; system C (schema 3, no samples); a schema-1 file (retired) and a schema-9
  file (unknown), both skipped with a message;
- the report opens with a table of contents whose links all resolve to headings, then
  a summary with intervals per system; the CPU-vs-CPU table comes last, folded;
- intervals: phase times, cuts recomputed from the samples (a time_cut column tampered
  with in the file must not show), speed-ups over 1 thread, PyTorch ratios and
  CPU-vs-CPU ratios; a row with a too wide interval is marked, the legend says why;
- system C's figures show without intervals, marked "no samples (schema 3)";
- dirty rows are marked, the mixed revisions of A listed with their files;
- a failed write (a full disk, simulated by an fsync that fails) exits 1 with one line
  and leaves the old REPORT.md and PNG as they were;
- units scaled, no exponents, plots written and linked, baselines labelled with their
  OpenBLAS core.

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
results_dir = os.path.dirname(make_report)
problems = []

INTERVAL = r"-?\d+(\.\d+)? \[-?\d+(\.\d+)?–-?\d+(\.\d+)?\]"            # 1.60 [1.54–1.66]
PERCENT_INTERVAL = r"-?\d+\.\d% \[-?\d+\.\d–-?\d+\.\d\]"               # 25.0% [22.2–27.7]


def check(ok, what):
    if not ok:
        problems.append(what)


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def section(text, heading):
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.find(heading + "\n")
    if start < 0:
        return ""
    rest = text[start + len(heading) + 1:]
    m = re.search(r"^#{1,%d} " % level, rest, re.M)
    return rest[:m.start()] if m else rest


def tables(text):
    """Every Markdown table in `text` as a list of {header: cell} rows."""
    out, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---") and i > 0 and lines[i - 1].startswith("| "):
            header, seen = [], {}
            for c in (c.strip() for c in lines[i - 1].strip("|").split("|")):
                # a repeated column name (CPU vs CPU: one "ratio" per system) is numbered
                seen[c] = seen.get(c, 0) + 1
                header.append(c if seen[c] == 1 else f"{c} {seen[c]}")
            rows = []
            for body in lines[i + 1:]:
                if not body.startswith("| "):
                    break
                rows.append(dict(zip(header, (c.strip() for c in body.strip("|").split("|")))))
            out.append(rows)
    return out


def github_anchors(text):
    """The anchors GitHub gives the headings of `text`: lower case, everything but word
    characters, spaces and hyphens dropped, spaces to hyphens; repeats numbered -1, -2."""
    seen, anchors = {}, set()
    for m in re.finditer(r"^#+ (.*)$", text, re.M):
        a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(a, 0)
        seen[a] = n + 1
        anchors.add(a if n == 0 else f"{a}-{n}")
    return anchors


def fail_fsync(argv):
    """make_report with argv, in a process whose os.fsync fails as on a full disk."""
    code = ("import errno, os, runpy, sys\n"
            "def full(fd):\n"
            "    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
            "os.fsync = full\n"
            f"sys.argv = {[make_report] + argv!r}\n"
            f"runpy.run_path({make_report!r}, run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


sys.path.insert(0, results_dir)
runs = load("runs", os.path.join(results_dir, "runs.py"))

# Units scaled per value, 3 significant digits, never an exponent.
for got, want in ((runs.fmt_flop(8512), "8.51 kFLOP"), (runs.fmt_flop(8.058e9), "8.06 GFLOP"),
                  (runs.fmt_time(0.001622), "1.62 ms"), (runs.fmt_time(5.9475e-07), "595 ns"),
                  (runs.fmt_time(3.2e-5), "32.0 µs"), (runs.fmt_time(2.5), "2.50 s"),
                  (runs.sig(9.996), "10.0"), (runs.sig(1234.5), "1230"),
                  (runs.fmt_time_span(0.0797, 0.0787, 0.0821), "79.7 ms [78.7–82.1]"),
                  (runs.fmt_bytes(32768), "32 KiB")):
    check(got == want, f"formatted {got!r}, want {want!r}")

# Schema 2 and later name the peak's ISA; baselines carry their OpenBLAS core.
plots = load("plots", os.path.join(results_dir, "plots.py"))
v4_label = plots.peak_label([syn.machine(4, peak_isa="avx512")], 200.0)
check("avx512 probe" in v4_label, f"peak label {v4_label!r}")
# openblas_core is the machine's, in every row (kernel_bench's BLIS and oneDNN rows too):
# only OpenBLAS and PyTorch run on it.
labelled = [dict(impl="pytorch", openblas_core="Zen"), dict(impl="openblas", openblas_core="Haswell"),
            dict(impl="freezebench", openblas_core="Haswell"), dict(impl="blis", openblas_core="none"),
            dict(impl="onednn", openblas_core="Haswell"), dict(impl="blis", openblas_core="Haswell")]
for impl, want in (("pytorch", "pytorch (OpenBLAS Zen)"), ("openblas", "openblas (Haswell)"),
                   ("freezebench", "freezebench"), ("blis", "blis"), ("onednn", "onednn")):
    got = plots.baseline_label(impl, labelled)
    check(got == want, f"plot label of {impl}: {got!r}, want {want!r}")

help_run = subprocess.run([sys.executable, make_report, "--help"], capture_output=True, text=True)
check(help_run.returncode == 0 and "usage:" in help_run.stdout,
      f"--help: status {help_run.returncode}, {help_run.stderr[-300:]}")

A, B, C = "intel-emerald-rapids-avx512", "amd-zen-4-avx512", "intel-skylake-avx512"
with tempfile.TemporaryDirectory() as d:
    a = syn.machine(4, system_id=A, uarch="Emerald Rapids", peak_isa="avx512")
    b = syn.machine(4, system_id=B, uarch="Zen 4", peak_isa="avx512")
    c = syn.machine(3, system_id=C, uarch="Skylake", peak_isa="avx512")

    def slow_two_threads(spec, threads, phase):
        # A noisy neighbour: system A's 2-thread step of prefix:1 slower than 1 thread.
        return 9e-6 if (spec, threads, phase) == ("prefix:1", 2, "step") else None

    def wide(spec, threads, phase):
        # One row scattered far beyond the 5 % limit; the rest exactly laid out.
        return 0.4 if (spec, threads, phase) == ("prefix:2", 1, "optimizer") else None

    rows_a = syn.sweep(a, time_of=slow_two_threads, noise=wide, spread=1.02) + syn.kernels(a)
    # The file's own cut of prefix:2's 1-thread backward is wrong: the report must take
    # the cut from the samples (25.0 %), not from the column.
    tampered = next(r for r in rows_a if (r["freeze_spec"], r["threads"], r["phase"])
                    == ("prefix:2", "1", "backward"))
    tampered.update(time_cut="0.99", time_cut_ci_low="0.98", time_cut_ci_high="0.995")
    syn.write(os.path.join(d, "a.csv"), rows_a, 4)
    syn.write(os.path.join(d, "pytorch-a.csv"),
              syn.sweep(dict(a, git_revision="def5678", openblas_core="Zen"), impl="pytorch",
                        scale=20, spread=1.02), 4)
    syn.write(os.path.join(d, "a-r2.csv"),
              syn.sweep(dict(a, git_revision="abc1234-dirty"), ranks=2, threads=(1,), scale=0.7,
                        spread=1.02), 4)
    syn.write(os.path.join(d, "b.csv"), syn.sweep(b, scale=1.3, spread=1.02)
              + syn.kernels(b, scale=1.3), 4)
    syn.write(os.path.join(d, "c.csv"), syn.sweep(c, scale=1.1), 3)
    syn.write(os.path.join(d, "old.csv"), syn.sweep(syn.machine(1), scale=1.1), 1)
    with open(os.path.join(d, "future.csv"), "w") as f:
        f.write("schema_version,bench\r\n9,freeze_sweep\r\n")
    # A damaged file: one row's samples are not times.
    damaged = syn.sweep(syn.machine(4, system_id="damaged-sys"))
    damaged[3]["time_samples_s"] = "1e-6 abc"
    syn.write(os.path.join(d, "damaged.csv"), damaged, 4)
    # The retired files' folder is never read, whatever it holds.
    os.makedirs(os.path.join(d, "retired"))
    syn.write(os.path.join(d, "retired", "gone.csv"),
              syn.sweep(syn.machine(4, system_id="retired-sys")), 4)
    out = os.path.join(d, "report", "REPORT.md")
    run = subprocess.run([sys.executable, make_report, d, "-o", out, "--reference", A],
                         capture_output=True, text=True)
    check(run.returncode == 0, f"make_report exited {run.returncode}: {run.stderr[-2000:]}")
    report = open(out).read() if os.path.exists(out) else ""

    # -- navigation: contents first, every link to a heading, CPU vs CPU last and folded
    headings = re.findall(r"^(##+) (.*)$", report, re.M)
    check(headings[:2] == [("##", "Contents"), ("##", "Summary")],
          f"the report does not open with Contents, then Summary: {headings[:3]}")
    toc = section(report, "## Contents")
    links = re.findall(r"\]\(#([^)]+)\)", toc)
    anchors = github_anchors(report)
    check(links and all(a in anchors for a in links),
          f"contents links without a heading: {[a for a in links if a not in anchors]}")
    listed = re.findall(r"\[([^\]]+)\]\(#", toc)
    missing = [t for lvl, t in headings if lvl in ("##", "###") and t != "Contents"
               and t not in listed]
    check(not missing, f"headings not in the contents: {missing}")
    check(len(set(links)) == len(links), f"contents links repeat an anchor: {links}")
    check(headings[-1] == ("##", "CPU vs CPU"), f"CPU vs CPU is not the last section: {headings[-1]}")
    cpu = section(report, "## CPU vs CPU")
    check("<details>" in cpu and "</details>" in cpu and cpu.index("<details>") < cpu.index("| bench"),
          "the CPU-vs-CPU table is not folded in <details>")

    # -- the summary: step cuts with intervals at 1 thread and all cores, PyTorch ratio
    summary = tables(section(report, "## Summary"))
    srows = summary[0] if summary else []
    a_rows = [r for r in srows if r["system"] == f"`{A}`"]
    check([r["threads"] for r in a_rows] == ["1 thread", "2 threads (all cores)"],
          f"summary rows of A: {[r['threads'] for r in a_rows]}")
    for r in a_rows:
        # (A's 2-thread prefix:1 step is the slow one: its cut is negative, and wide)
        check(re.fullmatch(r"`prefix:1` " + PERCENT_INTERVAL + "( ⚠)?",
                           r["step cut, middle prefix"] or "")
              and re.fullmatch(r"`last` " + PERCENT_INTERVAL, r["step cut, `last`"] or ""),
              f"summary step cuts of A without intervals: {r}")
        check(re.fullmatch(r"20\.0 \[[\d.]+–[\d.]+\]", r["PyTorch ÷ freezebench (step, `none`)"]),
              f"summary PyTorch ratio of A: {r}")
    c_rows = [r for r in srows if r["system"] == f"`{C}`"]
    check(c_rows and all("[" not in r["step cut, `last`"] and "no samples (schema 3)" in r["notes"]
                         for r in c_rows), f"summary of schema-3 system C: {c_rows}")

    # -- systems, sections, skipped files
    sections = re.findall(r"^## System `([^`]+)`", report, re.M)
    check(sorted(sections) == sorted([A, B, C]), f"sections {sections}, want {A}, {B}, {C}")
    systems = section(report, "## Systems")
    check("old.csv" in systems and "retired" in systems, "the schema-1 file is not skipped as retired")
    check("retired" in run.stderr and "old.csv" in run.stderr, "no message that old.csv is retired")
    check("future.csv" in systems, "the schema-9 file is not listed as skipped")
    check("`damaged.csv`: line 5: time_samples_s" in systems and "damaged-sys" not in report,
          "the file with a damaged sample is not skipped naming its line")
    check("retired-sys" not in report and "gone.csv" not in report,
          "the report read the retired/ folder")
    check("⚠ after a figure" in systems and "no samples (schema 3)" in systems,
          "no legend of the marks")

    sec_a, sec_b, sec_c = (section(report, f"## System `{s}`") for s in (A, B, C))
    sweep_a = tables(section(sec_a, "### Freeze sweep"))[0]

    def sweep_row(rows, impl, threads, spec):
        return next((r for r in rows if (r["impl"], r["threads"], r["spec"]) ==
                     (impl, str(threads), f"`{spec}`")), {})

    # -- intervals: times and cuts from the samples, the tampered column ignored
    p2 = sweep_row(sweep_a, "freezebench", 1, "prefix:2")
    check(re.fullmatch(r"2\.40 µs \[[\d.]+–[\d.]+\]", p2.get("backward", "")),
          f"backward time of prefix:2 without its interval: {p2.get('backward')}")
    check(re.fullmatch(r"25\.0% \[[\d.]+–[\d.]+\]", p2.get("bwd time cut", "")),
          f"backward cut of prefix:2 not recomputed from the samples: {p2.get('bwd time cut')}")
    check("99.0%" not in report, "the report shows the file's tampered time_cut")
    check(re.fullmatch(PERCENT_INTERVAL, sweep_row(sweep_a, "freezebench", 2, "last")
                       .get("step time cut", "")), "step cut without interval")

    # -- a too wide interval is marked (and only there), and warned about
    check(p2.get("optimizer", "").endswith("⚠"),
          f"the scattered row is not marked: {p2.get('optimizer')}")
    calm = sweep_row(sweep_a, "freezebench", 1, "prefix:1")
    check(calm and "⚠" not in calm["optimizer"] and "⚠" not in calm["backward"],
          f"a tight row is marked too wide: {calm}")
    check("Intervals too wide" in sec_a and "`prefix:2` optimizer" in sec_a,
          "no warning naming the too wide row")

    # -- ratios with intervals: threads, PyTorch, CPU vs CPU
    threads_a = tables(section(sec_a, "### Threads"))[0]
    none_fb = next(r for r in threads_a if (r["impl"], r["spec"]) == ("freezebench", "`none`"))
    check(re.fullmatch(r"1\.60 \[[\d.]+–[\d.]+\]", none_fb["forward speed-up"]),
          f"threads speed-up without interval: {none_fb['forward speed-up']}")
    slow = next(r for r in threads_a if (r["impl"], r["spec"]) == ("freezebench", "`prefix:1`"))
    check(slow["step speed-up"].endswith("(slower)") and "Slower with more threads" in sec_a,
          f"the 2-thread step slower than 1 thread is not flagged: {slow['step speed-up']}")
    versus = tables(section(sec_a, "### freezebench vs PyTorch"))[0]
    check(len(versus) == 8 and all(re.fullmatch(INTERVAL, r["step ratio"]) for r in versus)
          and all(r["step ratio"].startswith("20.0 [") for r in versus if r["threads"] == "1"),
          f"PyTorch ratios: {[r['step ratio'] for r in versus]}")
    # CPU vs CPU against A: B (schema 4) 1.3× with intervals, C (schema 3) 1.1× without.
    cpu_rows = tables(cpu)[0] if tables(cpu) else []
    sweep_cmp = [r for r in cpu_rows if r["bench"] == "freeze_sweep" and r["impl"] == "freezebench"
                 and (r["spec"], r["threads"]) == ("`none`", "1")]
    check(len(sweep_cmp) == 4 and all(re.fullmatch(r"1\.30 \[[\d.]+–[\d.]+\]", r["ratio"])
                                      and r["ratio 2"] == "1.10" for r in sweep_cmp),
          f"CPU-vs-CPU ratios (B: 1.30 with interval, C: 1.10 without): "
          f"{[(r['ratio'], r.get('ratio 2')) for r in sweep_cmp]}")

    # -- provenance: dirty rows marked, A's three revisions listed with their files
    dp = [r for r in sweep_a if r["impl"] == "freezebench ×2 ranks"]
    check(len(dp) == 4 and all("† dirty" in r["notes"] for r in dp),
          "the dirty 2-rank rows are not marked")
    check(all("dirty" not in r["notes"] for r in sweep_a if r["impl"] == "freezebench"),
          "a clean row is marked dirty")
    check("`a-r2.csv`" in sec_a.partition("Dirty build")[2].partition("\n\n")[0],
          "no dirty-build note naming a-r2.csv")
    check("Mixed revisions" in sec_a and "`abc1234`: `a.csv`" in sec_a
          and "`abc1234-dirty` †: `a-r2.csv`" in sec_a and "`def5678`: `pytorch-a.csv`" in sec_a,
          "A's mixed revisions are not listed with their files")
    check("Mixed revisions" not in sec_b, "B (one revision) is flagged as mixed")

    # -- schema 3: no intervals, marked
    sweep_c = tables(section(sec_c, "### Freeze sweep"))[0]
    check(sweep_c and all("[" not in r["step"] and "[" not in r["step time cut"]
                          and "no samples (schema 3)" in r["notes"] for r in sweep_c),
          "system C's schema-3 rows show intervals or lack the no-samples mark")
    check("no samples (schema 3)" in sec_c, "C's file is not said to have no samples")

    # -- units, plots
    check("µs" in report and "kFLOP" in report, "no scaled units in the tables")
    exponent = re.search(r"\d[eE][+-]?\d", report)
    check(exponent is None, "a number with an exponent: "
          + repr(report[max(exponent.start() - 40, 0):exponent.end() + 10]) if exponent else "")
    for sid, kinds in ((A, ("sweep", "gemm")), (B, ("sweep", "gemm")), (C, ("sweep",))):
        for kind in kinds:
            png = os.path.join(d, "report", f"{kind}-{sid}.png")
            check(os.path.isfile(png) and os.path.getsize(png) > 1000, f"{png} missing or empty")
            check(f"]({kind}-{sid}.png)" in report, f"the report does not link {kind}-{sid}.png")

    # -- usage errors, a retired file alone
    bad = subprocess.run([sys.executable, make_report, os.path.join(d, "missing")],
                         capture_output=True, text=True)
    check(bad.returncode == 2, f"a missing input exited {bad.returncode}, want 2")
    alone = subprocess.run([sys.executable, make_report, os.path.join(d, "old.csv"), "-o",
                            os.path.join(d, "old.md")], capture_output=True, text=True)
    check(alone.returncode == 1 and "retired" in alone.stderr and "Traceback" not in alone.stderr,
          f"a schema-1 file alone: exit {alone.returncode}, {alone.stderr[-500:]}")

    # -- a failed write leaves the old files intact, with one line and exit 1
    full = os.path.join(d, "full")
    os.makedirs(full)
    syn.write(os.path.join(full, "a.csv"), syn.sweep(a, spread=1.02), 4)
    old_report, old_png = os.path.join(full, "REPORT.md"), os.path.join(full, f"sweep-{A}.png")
    for path in (old_report, old_png):
        with open(path, "w") as f:
            f.write("the old file\n")
    for argv, target in ((["--no-plots"], old_report), ([], old_png)):
        p = fail_fsync([full] + argv)
        check(p.returncode == 1, f"a full disk ({argv}): exit {p.returncode}, want 1: {p.stderr[-800:]}")
        lines = p.stderr.strip().splitlines()
        check(len(lines) == 1 and "cannot write" in lines[0] and os.path.basename(target) in lines[0],
              f"a full disk ({argv}): stderr {p.stderr[-800:]!r}, want one line naming the file")
    for path in (old_report, old_png):
        check(open(path, "rb").read() == b"the old file\n",
              f"{os.path.basename(path)} changed by a failed write")
    leftovers = [f for f in os.listdir(full) if f.startswith(".")]
    check(not leftovers, f"temporary files left after a failed write: {leftovers}")
    # Once the disk works, the report is replaced, keeping the old file's permissions
    # (not the private ones of a temporary file).
    os.chmod(old_report, 0o640)
    ok = subprocess.run([sys.executable, make_report, full, "--no-plots"], capture_output=True,
                        text=True)
    check(ok.returncode == 0 and open(old_report).read().startswith("# freezebench results"),
          f"the report is not replaced once the disk works: {ok.stderr[-500:]}")
    check(os.stat(old_report).st_mode & 0o777 == 0o640,
          f"the new report's mode is {oct(os.stat(old_report).st_mode & 0o777)}, want 0o640")

if problems:
    sys.exit("test_report:\n  " + "\n  ".join(problems))
print("test_report: contents, summary, intervals, marks, provenance, schemas 1/3 and "
      "failed writes as expected")
