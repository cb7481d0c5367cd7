#!/usr/bin/python3
"""freeze_sweep's refusals, as a user meets them (issue 24):

- a sweep that cannot fit in memory exits 2 at once, naming the model, what it needs and
  the limit, before allocating anything (item 8: `--model 65536,65536 --batch 1` ran
  for minutes, initialising 16 GiB, before "out of memory", and without a limit risked
  the OOM killer).  Checked on a model beyond any machine (63 layers of 65536²), on the
  issue's own model, and under an address-space limit (`ulimit -v`) that the parameters
  alone would fit, as in the issue;
- a refusal's message carries the program's prefix once ("freeze_sweep: freeze_sweep:"
  was printed for errors from the sweep).

Where the build is not sanitized, the runs that could allocate gigabytes without the
check run under an address-space limit (RLIMIT_AS), so even a build without it fails
fast instead of filling the machine; a sanitizer's shadow memory cannot start under
such a limit, so there those runs are left out (the first case needs none).

usage: test_freeze_sweep_refusals.py FREEZE_SWEEP B_SANITIZE
"""
import os
import resource
import subprocess
import sys
import time

freeze_sweep, sanitize = sys.argv[1], sys.argv[2]
GIB = 2**30
problems = []
physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def run(args, address_space=None, timeout=60):
    def limit():
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    start = time.monotonic()
    p = subprocess.run([freeze_sweep, *args, "--no-csv"], capture_output=True, text=True,
                       errors="replace", timeout=timeout, preexec_fn=limit)
    return p, time.monotonic() - start


def expect_refusal(what, args, says, address_space=None):
    try:
        p, seconds = run(args, address_space)
    except subprocess.TimeoutExpired:
        problems.append(f"{what}: still running after 60 s")
        return
    print(f"{what}: exit {p.returncode} after {seconds:.2f} s: {p.stderr.strip()[:400]}")
    if p.returncode != 2:
        problems.append(f"{what}: exit {p.returncode}, want 2")
    for text in says:
        if text not in p.stderr:
            problems.append(f"{what}: no {text!r} in the message")
    if "freeze_sweep: freeze_sweep:" in p.stderr:
        problems.append(f"{what}: the prefix is doubled")
    if "Traceback" in p.stderr or "AddressSanitizer" in p.stderr:
        problems.append(f"{what}: crashed")


# 63 × 16 GiB of parameters, five copies: no machine has it, no limit needed.
expect_refusal("65536x64", ["--model", "65536x64", "--batch", "1", "--spec", "none"],
               ["--model 65536x64 at batch 1 needs at least", "physical memory",
                "refused before allocating anything"])

limited = sanitize == "none"
# The model: 80 GiB planned.  Refused for the machine's memory below 100 GiB,
# for the address-space limit where one is set.
space = min(physical // 2, 16 * GIB) if limited else None
if limited or 80 * GIB > 0.8 * physical:
    expect_refusal("65536,65536", ["--model", "65536,65536", "--batch", "1", "--spec", "none"],
                   ["--model 65536,65536 at batch 1 needs at least 80.0 GiB",
                    "refused before allocating anything"], address_space=space)
# The parameters (4 GiB) fit under `ulimit -v` 6 GiB, the sweep (20 GiB) does not.
if limited:
    expect_refusal("32768,32768 under ulimit -v", ["--model", "32768,32768", "--batch", "1",
                                                  "--spec", "none"],
                   ["needs at least 20.0 GiB", "the address-space limit (ulimit -v)"],
                   address_space=6 * GIB)

# An error from inside the sweep (a configuration registered twice): one prefix.
expect_refusal("a repeated --model", ["--model", "10,1", "--model", "10,1", "--threads", "1"],
               ["freeze_sweep: benchmark 'sweep/10,1/batch:64/none/threads:1' registered twice"])

if problems:
    sys.exit("freeze_sweep refusals:\n  " + "\n  ".join(problems))
print("freeze_sweep refusals: ok")
