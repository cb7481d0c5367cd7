#!/usr/bin/env python3
"""What every freezebench program answers alike (issue #28 item 4).

usage: program_options_check.py PROGRAM...

For each program: --version exits 0 with GNU's form on stdout alone
    NAME (freezebench) X.Y.Z
    git REVISION
and --help exits 0 with its usage on stdout alone.  For the two Google Benchmark
programs (freeze_sweep, kernel_bench) besides: a quick run prints none of Google
Benchmark's console table without --verbose and does with it; --quiet prints nothing
at all yet writes the CSV; --benchmark_list_tests (bare and =true) lists names and
writes no file.  finetune --quiet too (where Fashion-MNIST is installed).
"""
import os
import re
import subprocess
import sys
import tempfile

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run(args, cwd=None):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, FREEZEBENCH_THREADS="1"))
    return p.returncode, p.stdout, p.stderr


# Google Benchmark's console report: its header and table lines.
GBENCH_LINE = re.compile(r"Iterations|^Running |^-{20,}$|^Run on \(", re.M)

# Each bench program's quickest run that still runs every part (the probes too).
QUICK = {
    "kernel_bench": ["--quick", "--repetitions", "1", "--min-time", "0.01", "--allow-dirty"],
    "freeze_sweep": ["--model", "10,5,1@8", "--threads", "1", "--repetitions", "1",
                     "--min-time", "0.01", "--quick-probes", "--allow-dirty"],
}


def check_common(prog, name):
    rc, out, err = run([prog, "--version"])
    lines = out.splitlines()
    check(rc == 0, f"{name} --version: exit {rc} ({err.strip()})")
    check(len(lines) >= 2 and re.fullmatch(re.escape(name) + r" \(freezebench\) \d+\.\d+\.\d+",
                                           lines[0]) is not None,
          f"{name} --version: first line {lines[:1]}")
    check(len(lines) >= 2 and re.fullmatch(r"git \S+", lines[1]) is not None,
          f"{name} --version: second line {lines[1:2]}")
    check(err == "", f"{name} --version: stderr {err!r}")
    for flag in ("--help", "-h"):
        rc, out, err = run([prog, flag])
        check(rc == 0, f"{name} {flag}: exit {rc} ({err.strip()[:200]})")
        check("usage" in out.lower(), f"{name} {flag}: no usage on stdout")
        check(err == "", f"{name} {flag}: stderr {err[:200]!r}")


def check_bench(prog, name):
    with tempfile.TemporaryDirectory() as d:
        # Default: the program's own table, none of Google Benchmark's.
        rc, out, err = run([prog] + QUICK[name] + ["--output", "a.csv"], cwd=d)
        check(rc == 0, f"{name} quick run: exit {rc} ({err.strip()[-300:]})")
        check(out.strip() != "", f"{name} quick run: no table on stdout")
        check(not GBENCH_LINE.search(out + err),
              f"{name} quick run without --verbose: Google Benchmark's console lines: "
              f"{GBENCH_LINE.findall(out + err)[:3]}")
        # --verbose: Google Benchmark's report too (on stderr), so the check above can fail.
        rc, out, err = run([prog] + QUICK[name] + ["--output", "b.csv", "--verbose"], cwd=d)
        check(rc == 0 and GBENCH_LINE.search(err) is not None,
              f"{name} --verbose: exit {rc}, no Google Benchmark report on stderr")
        # --quiet: nothing on either stream, the CSV still written.
        rc, out, err = run([prog] + QUICK[name] + ["--output", "c.csv", "--quiet"], cwd=d)
        check(rc == 0, f"{name} --quiet: exit {rc}")
        check(out == "" and err == "", f"{name} --quiet: printed {(out + err)[:300]!r}")
        check(os.path.getsize(os.path.join(d, "c.csv")) > 0, f"{name} --quiet: no CSV")
    for form in ("--benchmark_list_tests", "--benchmark_list_tests=true"):
        with tempfile.TemporaryDirectory() as d:
            rc, out, err = run([prog, form, "--output", "l.csv"], cwd=d)
            names = out.splitlines()
            check(rc == 0, f"{name} {form}: exit {rc} ({err.strip()})")
            check(len(names) >= 3 and any(n.startswith("probe/") for n in names),
                  f"{name} {form}: listed {names[:5]}")
            check(not GBENCH_LINE.search(out), f"{name} {form}: ran something")
            check(os.listdir(d) == [], f"{name} {form}: wrote {os.listdir(d)}")


def check_finetune_quiet(prog):
    """finetune --quiet: nothing printed, the CSV written (its quickest run); the same run
    without it prints its progress and table.  Without Fashion-MNIST it is not checked."""
    quick = [prog, "--quick", "--threads", "1", "--optimizer", "sgd", "--spec", "prefix:1",
             "--epochs", "1", "--pretrain-epochs", "1", "--allow-dirty"]
    with tempfile.TemporaryDirectory() as d:
        rc, out, err = run(quick + ["--output", "a.csv"], cwd=d)
        if rc != 0 and "fashion-mnist" in err:
            print("finetune --quiet: not checked (no Fashion-MNIST)")
            return
        check(rc == 0 and out != "" and err != "", f"finetune: exit {rc}, out {out[:100]!r}")
        rc, out, err = run(quick + ["--output", "q.csv", "--quiet"], cwd=d)
        check(rc == 0, f"finetune --quiet: exit {rc} ({err.strip()[-300:]})")
        check(out == "" and err == "", f"finetune --quiet: printed {(out + err)[:300]!r}")
        check(os.path.exists(os.path.join(d, "q.csv")), "finetune --quiet: no CSV")


def main():
    progs = [os.path.abspath(p) for p in sys.argv[1:]]
    if not progs:
        print(__doc__)
        return 2
    for prog in progs:
        name = os.path.basename(prog)
        check_common(prog, name)
        if name in QUICK:
            check_bench(prog, name)
        if name == "finetune":
            check_finetune_quiet(prog)
        print(f"{name}: checked")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
