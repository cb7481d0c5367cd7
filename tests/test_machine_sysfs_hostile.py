#!/usr/bin/python3
"""`freeze_sweep --machine` on a hostile sysfs tree (FREEZEBENCH_SYSFS_ROOT), as the
issue's battery built it (issue 24, items 9 and 17):

- a FIFO at cpu0/cpufreq/scaling_governor and at a cache's size blocked every
  freeze_sweep forever, --machine included: it must finish, the governor unknown;
- a governor holding byte 0xff and control characters made --machine print invalid
  UTF-8: the JSON must decode as strict UTF-8 and parse, the bad bytes replaced;
- a cache size of 99999999999999999999999M (which wrapped to 18446744073708503040) must
  never appear as a size.

usage: test_machine_sysfs_hostile.py FREEZE_SWEEP
"""
import json
import os
import subprocess
import sys
import tempfile

freeze_sweep = sys.argv[1]
problems = []
CPU0 = "devices/system/cpu/cpu0"


def put(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def machine(root, what):
    """The --machine JSON's machine object, or None with a problem noted."""
    env = dict(os.environ, FREEZEBENCH_SYSFS_ROOT=root)
    try:
        p = subprocess.run([freeze_sweep, "--machine"], capture_output=True, env=env,
                           timeout=60)
    except subprocess.TimeoutExpired:
        problems.append(f"{what}: --machine still running after 60 s (blocked on a FIFO?)")
        return None
    if p.returncode != 0:
        problems.append(f"{what}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
        return None
    try:
        return json.loads(p.stdout.decode("utf-8", errors="strict"))["machine"]
    except (UnicodeDecodeError, ValueError, KeyError) as e:
        problems.append(f"{what}: the JSON is not valid UTF-8 JSON: {e}")
        return None


def caches(root):
    for i, (level, kind) in enumerate((("1", "Data"), ("1", "Instruction"), ("2", "Unified"),
                                       ("3", "Unified"))):
        put(root, f"{CPU0}/cache/index{i}/level", level.encode() + b"\n")
        put(root, f"{CPU0}/cache/index{i}/type", kind.encode() + b"\n")


with tempfile.TemporaryDirectory() as d:
    fifo_root = os.path.join(d, "fifo")
    caches(fifo_root)
    os.makedirs(os.path.join(fifo_root, CPU0, "cpufreq"))
    os.mkfifo(os.path.join(fifo_root, CPU0, "cpufreq", "scaling_governor"))
    for i in range(4):
        os.mkfifo(os.path.join(fifo_root, CPU0, f"cache/index{i}/size"))
    m = machine(fifo_root, "FIFOs")
    if m is not None and m["governor"] != "unknown":
        problems.append(f"FIFOs: governor {m['governor']!r}, want 'unknown'")

    bad_root = os.path.join(d, "bytes")
    caches(bad_root)
    for i in range(4):
        put(bad_root, f"{CPU0}/cache/index{i}/size", b"99999999999999999999999M\n")
    put(bad_root, f"{CPU0}/cpufreq/scaling_governor", b"perf\xff\x01orm\x1b[31mance\n")
    m = machine(bad_root, "0xff governor")
    if m is not None:
        if m["governor"] != "perf??orm?[31mance":
            problems.append(f"0xff governor: governor {m['governor']!r}")
        sizes = [m[c] for c in ("l1d_bytes", "l2_bytes", "l3_bytes")]
        if any(s >= 2**40 for s in sizes):
            problems.append(f"huge cache sizes recorded: {sizes} ({m['cache_source']})")

if problems:
    sys.exit("machine on hostile sysfs:\n  " + "\n  ".join(problems))
print("machine on hostile sysfs: ok")
