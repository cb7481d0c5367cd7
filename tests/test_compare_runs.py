#!/usr/bin/python3
"""results/compare_runs.py on synthetic runs (tests/synthetic_results.py, schema 4 with
seeded lognormal repetition samples):

- two runs of one distribution (two seeds), and a run against itself, pass (exit 0);
  so do two runs of 5 repetitions, whose intervals read n/a;
- one configuration 20 % slower is CHANGED slower (exit 1), and the others are not; a
  kernel 20 % faster is CHANGED faster;
- every time 3 % slower at very low noise is significant but within the 10 % tolerance
  ("small", exit 0), and CHANGED with --tolerance 0.02;
- a configuration 30 % slower but with very noisy samples is not called (exit 0);
- a time cut that moves by 13 points while both times stay within tolerance is CHANGED
  cut (exit 1);
- faulty samples in the candidate or the baseline (NaN, empty, truncated, non-positive,
  a median that is not time_median_s, a damaged file inside a folder) and schema-3
  input exit 2, naming the file (and the line where there is one), never a pass;
- differing system ids print a WARNING naming both, a dirty build another;
- the one-run goal check fails only when the FLOP cut lies outside the time cut's
  interval widened by --cut-tolerance;
- kept from before: --help, usage errors (missing file, bad option, negative tolerance,
  a folder holding one configuration twice), rows matched by key not order, `ranks` in
  the key.

usage: test_compare_runs.py results/compare_runs.py
"""
import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_results as syn  # noqa: E402

compare = os.path.abspath(sys.argv[1])
problems = []
NOISE = 0.03        # lognormal sigma of the repetitions: a quiet machine


def load_script(path):
    spec = importlib.util.spec_from_file_location("compare_runs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load_script(compare)


def run(*args, process=False):
    """compare_runs with `args`: in this process (its main(), with stdout and stderr
    caught), which saves starting Python, numpy and scipy for each of some forty runs,
    or as a separate process, as a user runs it (process=True)."""
    if process:
        return subprocess.run([sys.executable, compare, *args], capture_output=True, text=True)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = script.main(list(args))
        except SystemExit as e:               # argparse: --help, usage errors
            status = e.code if isinstance(e.code, int) else 2
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def expect(status, what, *args, stdout=(), stderr=(), process=False):
    """Runs compare_runs with `args`; wants exit `status` and each text of `stdout` and
    `stderr` (regular expressions) in that stream."""
    p = run(*args, process=process)
    bad = [] if p.returncode == status else [f"exit {p.returncode}, want {status}"]
    bad += [f"no /{s}/ in stdout" for s in stdout if not re.search(s, p.stdout)]
    bad += [f"no /{s}/ in stderr" for s in stderr if not re.search(s, p.stderr)]
    if bad:
        problems.append(f"{what}: {'; '.join(bad)}\n{p.stdout[-2500:]}{p.stderr[-800:]}")
    return p


def line_of(stdout, config):
    """The table line of a configuration ('prefix:2 1T backward')."""
    return next((ln for ln in stdout.splitlines() if config in ln), "")


def find(rows, spec, threads, phase):
    return next(r for r in rows if (r["freeze_spec"], r["threads"], r["phase"])
                == (spec, str(threads), phase))


def one(spec, threads, phase, value):
    """A time_of / noise function: `value` at one configuration, the default elsewhere."""
    return lambda s, t, p: value if (s, t, p) == (spec, threads, phase) else None


def noise_at(spec, threads, phase, sigma, elsewhere=NOISE):
    return lambda s, t, p: sigma if (s, t, p) == (spec, threads, phase) else elsewhere


# The synthetic model's times (see synthetic_results.sweep): 1-thread backward of none
# 3.20 µs, prefix:2 2.40 µs.
NONE_BWD, P2_BWD = 3.2e-6, 2.4e-6

expect(0, "--help", "--help", stdout=("Exit status", "--tolerance", "Holm"), process=True)
with tempfile.TemporaryDirectory() as d:
    def path(name):
        return os.path.join(d, name)

    def write(name, rows, version=4):
        syn.write(path(name), rows, version)
        return path(name)

    m = syn.machine(4, system_id="sys-a", peak_isa="avx512")

    def sweep(seed, **kw):
        kw.setdefault("noise", NOISE)
        return syn.sweep(m, seed=seed, **kw)

    base = write("base.csv", sweep(1) + syn.kernels(m, noise=NOISE, seed=1))

    # ---- no change -------------------------------------------------------------------
    same = write("same.csv", list(reversed(sweep(2) + syn.kernels(m, noise=NOISE, seed=2))))
    p = expect(0, "A/A: one distribution, two seeds, rows reversed", base, same,
               stdout=("no significant change", "39 configurations in both runs"))
    if "CHANGED" in p.stdout.replace("CHANGED:", ""):
        problems.append("A/A: a configuration is marked CHANGED")
    expect(0, "a run against itself", base, base)

    # Five repetitions: no intervals (n/a), and no U test reaches significance over 32.
    five_a, five_b = (write(f"five-{i}.csv", sweep(i, reps=5)) for i in (20, 21))
    expect(0, "two runs of 5 repetitions", five_a, five_b,
           stdout=(r"µs \[n/a\]", r"32 configuration\(s\) with fewer than 6"))

    # ---- a real change: 20 % slower, 20 % faster -------------------------------------
    slower = write("slower.csv", sweep(3, time_of=one("prefix:2", 1, "backward", 1.2 * P2_BWD))
                   + syn.kernels(m, noise=NOISE, seed=3))
    p = expect(1, "prefix:2 1T backward 20 % slower", base, slower,
               stdout=(r"1 configuration\(s\) CHANGED",), process=True)
    row = line_of(p.stdout, "prefix:2 1T backward")
    if "CHANGED slower" not in row or not re.search(r"1\.2\d \[1\.\d\d–1\.\d\d\]", row):
        problems.append(f"the 20 % slower row is not 'CHANGED slower' with its ratio: {row!r}")
    if "CHANGED cut" not in row:
        problems.append(f"the 20 % slower row's cut (25 % -> 10 %) is not CHANGED: {row!r}")
    expect(1, "--changes-only lists only the changed row", base, slower, "--changes-only",
           stdout=("prefix:2 1T backward",))
    if line_of(run(base, slower, "--changes-only").stdout, "none 1T backward"):
        problems.append("--changes-only prints an unchanged row")

    kernels_b = syn.kernels(m, noise=NOISE, seed=4, scale=0.8)
    faster = write("faster.csv", sweep(4) + kernels_b)
    p = expect(1, "every kernel 20 % faster", base, faster)
    row = line_of(p.stdout, "kernel_bench/openblas 32x256x256")
    if "CHANGED faster" not in row:
        problems.append(f"a 20 % faster kernel is not 'CHANGED faster': {row!r}")

    # ---- significant but small; large but noisy ----------------------------------------
    quiet = write("quiet.csv", syn.sweep(m, noise=0.002, seed=5))
    quiet_slower = write("quiet-slower.csv", syn.sweep(m, noise=0.002, seed=6, scale=1.03))
    p = expect(0, "every time 3 % slower at 0.2 % noise: significant, within 10 %", quiet,
               quiet_slower, stdout=(r"32 configuration\(s\) differ significantly but within",))
    if "small" not in line_of(p.stdout, "prefix:1 2T step"):
        problems.append("a significant 3 % change is not marked small")
    expect(1, "the same 3 % at --tolerance 0.02", quiet, quiet_slower, "--tolerance", "0.02",
           stdout=(r"CHANGED slower",))

    noisy = noise_at("prefix:2", 1, "backward", 0.5)
    noisy_a = write("noisy-a.csv", sweep(7, noise=noisy))
    noisy_b = write("noisy-b.csv", sweep(8, noise=noisy,
                                         time_of=one("prefix:2", 1, "backward", 1.3 * P2_BWD)))
    p = expect(0, "30 % slower but at 50 % noise: not significant", noisy_a, noisy_b)
    row = line_of(p.stdout, "prefix:2 1T backward")
    if not row or "CHANGED" in row or "small" in row:
        problems.append(f"a noisy 30 % difference is called: {row!r}")

    # A 3x change seen against a run whose row was noisy (a neighbour on the cores): shown
    # as UNSURE, naming the noisy side, and not failing; --strict counts it.
    spread = noise_at("prefix:2", 1, "backward", 0.15)
    noisy_base = write("noisy-base.csv", sweep(13, noise=spread))
    tripled = write("tripled.csv", sweep(14, time_of=one("prefix:2", 1, "backward",
                                                          3 * P2_BWD)))
    p = expect(0, "3x slower against a noisy baseline row: UNSURE", noisy_base, tripled,
               stdout=(r"configuration\(s\) UNSURE",))
    row = line_of(p.stdout, "prefix:2 1T backward")
    if "UNSURE slower" not in row or "noisy A" not in row or "CHANGED" in row:
        problems.append(f"a change against a noisy baseline row is not 'UNSURE ... noisy A': "
                        f"{row!r}")
    expect(1, "the same with --strict", noisy_base, tripled, "--strict",
           stdout=(r"counted as CHANGED",))
    if "prefix:2 1T backward" not in run(noisy_base, tripled, "--changes-only").stdout:
        problems.append("--changes-only hides an UNSURE row")
    if "noisy" in line_of(run(base, slower).stdout, "prefix:2 1T backward"):
        problems.append("a change between two quiet runs is marked noisy")

    # ---- a cut that moves while the times stay within tolerance ------------------------
    cut_b = write("cut-b.csv", syn.sweep(m, noise=0.01, seed=9, time_of=lambda s, t, p:
                                         {("prefix:2", 1, "backward"): 1.08 * P2_BWD,
                                          ("none", 1, "backward"): 0.92 * NONE_BWD}.get((s, t, p))))
    cut_a = write("cut-a.csv", syn.sweep(m, noise=0.01, seed=10))
    p = expect(1, "prefix:2's cut 25 % -> 12 %, times 8 % apart", cut_a, cut_b,
               stdout=(r"CHANGED cut -1[23]\.\d pts",))
    if "CHANGED slower" in line_of(p.stdout, "prefix:2 1T backward"):
        problems.append("an 8 % slower time counts as CHANGED at tolerance 0.10")

    # ---- faulty samples: exit 2, naming file and line ----------------------------------
    def damaged(name, change, rows=None):
        rows = rows or sweep(2)
        change(find(rows, "prefix:1", 1, "backward"))
        return write(name, rows)

    def set_samples(text):
        return lambda r: r.update(time_samples_s=text)

    def truncate(r):
        r["time_samples_s"] = " ".join(r["time_samples_s"].split()[:7])

    def truncate_all(r):     # count and repetitions agree, the median does not
        truncate(r)
        r["repetitions"] = "7"

    faults = (("nan.csv", set_samples("1e-6 nan 2e-6 1e-6 1e-6 1e-6 1e-6 1e-6 1e-6 1e-6"), "nan"),
              ("empty.csv", set_samples(""), "empty"),
              ("truncated.csv", truncate, "repetitions is 10"),
              ("truncated-reps.csv", truncate_all, "time_median_s"),
              ("negative.csv", set_samples("-1e-6 " + "1e-6 " * 9), "positive"),
              ("zero.csv", set_samples("0 " + "1e-6 " * 9), "positive"),
              ("nan-median.csv", lambda r: r.update(time_median_s="nan"), "time_median_s"))
    for name, change, why in faults:
        bad = damaged(name, change)
        expect(2, f"candidate {name}", base, bad, stderr=(re.escape(name), "line 7", why),
               process=name == "truncated.csv")
        if name in ("nan.csv", "empty.csv", "truncated.csv"):    # the baseline is checked too
            expect(2, f"baseline {name}", bad, base, stderr=(re.escape(name), why))
    expect(2, "one-run goal check of a truncated file", path("truncated.csv"),
           stderr=("truncated",))
    folder = path("folder")
    os.mkdir(folder)
    syn.write(os.path.join(folder, "good.csv"), syn.kernels(m, noise=NOISE, seed=2), 4)
    os.replace(path("nan.csv"), os.path.join(folder, "sweep.csv"))
    expect(2, "a folder with a damaged file beside a good one", base, folder,
           stderr=("sweep.csv", "nan"))

    # ---- schema 3: no samples -----------------------------------------------------------
    m3 = syn.machine(3, system_id="sys-a")
    old = write("old.csv", syn.sweep(m3), 3)
    for args in ((old, base), (base, old), (old,)):
        expect(2, f"schema 3 in {args}", *args,
               stderr=("old.csv", "schema 3", "significance cannot be tested"))

    # ---- the header --------------------------------------------------------------------
    other = write("other.csv", syn.sweep(dict(m, system_id="sys-b", git_revision="def5678"),
                                         noise=NOISE, seed=2))
    expect(0, "two systems", base, other, stdout=(r"WARNING.*sys-a.*sys-b", "def5678", "abc1234"))
    p = expect(0, "one system", base, same)
    if "WARNING" in p.stdout:
        problems.append(f"a warning for two runs of one system: {p.stdout[:400]}")
    dirty = write("dirty.csv", syn.sweep(dict(m, git_revision="abc1234-dirty"), noise=NOISE,
                                         seed=2))
    expect(0, "a dirty candidate", base, dirty, stdout=(r"WARNING.*dirty",))

    # ---- one run: the goal, interval-aware ---------------------------------------------
    # The default model's time cuts fall 0.2 and 0.4 short of its FLOP cuts (1/3, 2/3).
    expect(1, "one run's prefix gaps", base, stdout=("FAIL", r"4 configuration\(s\) FAIL"))
    expect(0, "one run's prefix gaps at --cut-tolerance 0.5", base, "--cut-tolerance", "0.5",
           stdout=("every goal met",))

    # Backward time proportional to the FLOPs (the goal met), but prefix:2's time cut 3
    # points short: outside its narrow interval, inside the 5-point tolerance.
    def on_goal(short):
        def time_of(s, t, p):
            if p != "backward":
                return None
            cut = 1 - syn.SPECS[s] / syn.SPECS["none"] - (short if s == "prefix:2" else 0)
            return NONE_BWD / (1.6 if t > 1 else 1) * (1 - cut)
        return time_of
    goal = write("goal.csv", syn.sweep(m, noise=0.002, seed=11, time_of=on_goal(0.03)))
    p = expect(0, "time cut 3 points short at tolerance 0.05", goal)
    p2 = line_of(p.stdout, "prefix:2 1T backward")
    if not re.search(r"63\.\d% \[6[23]\.\d–6[34]\.\d\]", p2):
        problems.append(f"prefix:2's time cut is not ~63.7 % with a narrow interval:\n{p.stdout}")
    expect(1, "time cut 3 points short at tolerance 0.01", goal, "--cut-tolerance", "0.01",
           stdout=(r"2 configuration\(s\) FAIL",))

    # ---- usage errors, keys -------------------------------------------------------------
    expect(2, "a missing file", base, path("missing.csv"))
    expect(2, "an unknown option", base, base, "--frobnicate")
    expect(2, "a negative tolerance", base, base, "--tolerance", "-1")
    expect(2, "alpha 0", base, base, "--alpha", "0")
    two = path("two-systems")
    os.mkdir(two)
    syn.write(os.path.join(two, "a.csv"), sweep(2), 4)
    syn.write(os.path.join(two, "b.csv"), syn.sweep(dict(m, system_id="sys-b"), noise=NOISE), 4)
    expect(2, "a folder holding one configuration twice", two, base, stderr=("--system",))
    expect(0, "the same folder with --system", two, base, "--system", "sys-a")

    # ranks in the key: a file with a 1-rank and a 2-rank run (3× slower).
    two_ranks = syn.sweep(m, ranks=2, scale=3.0, noise=NOISE, seed=12)
    mixed = write("mixed.csv", sweep(13) + two_ranks)
    only2 = write("only2.csv", two_ranks)
    expect(0, "a file with a 1-rank and a 2-rank run against itself", mixed, mixed)
    n_sweep = len(sweep(1))
    expect(0, "a 1-rank run against the mixed file: the 1-rank rows match", base, mixed,
           "--bench", "freeze_sweep",
           stdout=(f"{n_sweep} configurations in both runs",
                   rf"only in the candidate \({len(two_ranks)}\)", "2 ranks"))
    expect(2, "a 2-rank run against a 1-rank run: nothing in common", base, only2,
           stderr=("no configuration is in both runs",))

if problems:
    sys.exit("test_compare_runs: FAILED\n" + "\n\n".join(problems))
print("test_compare_runs: noise-aware verdicts, faults and exit statuses as documented")
