#!/usr/bin/env python3
"""freeze_sweep and bench/pytorch_sweep.py measure the same configurations: without
--spec each model gets the same default specs for its depth (fzb_default_specs in C,
sweep_setup.default_specs in Python), and a --spec list is fitted to each model alike.

usage: default_specs_agree_check.py FREEZE_SWEEP PYTORCH_SWEEP.py

Compares `freeze_sweep --benchmark_list_tests` (its sweep/ names, threads dropped) with
`pytorch_sweep.py --list` (no torch needed) for a few models.
"""
import subprocess
import sys

CASES = [
    [],                                   # the default models
    ["--model", "10,5,1@64"],             # the example: 2 layers
    ["--model", "1024x9@8"],              # 8 layers
    ["--model", "64,32x4,8@4"],           # 5 layers: quarter cut 1, no repeats
    ["--model", "16x4@4"],                # 3 layers: no middle layer, no `last`
    ["--model", "32x5@4"],                # 4 layers: the first with them
    ["--model", "8x17@4", "--model", "12,6@2"],   # 16 layers, and 1
    ["--model", "10,5,1@64", "--model", "1024x9@8", "--spec", "prefix:2", "--spec", "last"],
]


def c_list(freeze_sweep, args):
    out = subprocess.run([freeze_sweep, "--benchmark_list_tests", "--threads", "1"] + args,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    suffix = "/threads:1/real_time"
    return [line[len("sweep/"):-len(suffix)] for line in out.splitlines()
            if line.startswith("sweep/") and line.endswith(suffix)]


def py_list(script, args):
    out = subprocess.run([sys.executable, script, "--list"] + args, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    return out.splitlines()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    freeze_sweep, script = sys.argv[1:]
    failed = 0
    for args in CASES:
        c, py = c_list(freeze_sweep, args), py_list(script, args)
        if not c or c != py:
            failed += 1
            print(f"FAIL {' '.join(args) or '(defaults)'}:\n  freeze_sweep:     {c}\n"
                  f"  pytorch_sweep.py: {py}")
        else:
            print(f"ok   {' '.join(args) or '(defaults)'}: {len(c)} configurations")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
