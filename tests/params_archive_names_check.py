#!/usr/bin/python3
"""`freezebench params` prints each parameter under the archive's name with its own shape
and flag (issue 24, item 3 and "Smaller"):
  - a weight named a.bias.weight is a weight, [2, 3], not a bias (the last component
    of the name says which);
  - in an archive of layers fc0, fc1, fc2 (10 -> 8 -> 8 -> 3), --freeze 'fc1.*' shows
    fc1 alone frozen, with --map and without;
  - in an archive of fc2 and fc3 without fc1, --freeze 'fc2.*' shows fc2 alone frozen.

usage: /usr/bin/python3 tests/params_archive_names_check.py PATH/TO/freezebench DATA_DIR
Exit status: 0 all as expected, 1 otherwise.
"""
import os
import subprocess
import sys


def params(exe, *args):
    run = subprocess.run([exe, "params", *args], capture_output=True, text=True)
    if run.returncode != 0:
        return None, f"exit {run.returncode}: {run.stderr.strip()}"
    return run.stdout.splitlines(), ""


def expect(exe, args, want):
    """want: {name: (shape, requires_grad)} for every parameter, in order."""
    lines, why = params(exe, *args)
    tag = "params " + " ".join(args)
    if lines is None:
        return [f"{tag}: {why}"]
    expected = [f"Parameter: {n}, Shape: {s}, Requires grad: {g}" for n, (s, g) in want.items()]
    if lines != expected:
        return [f"{tag}:\n  got  " + "\n       ".join(lines) +
                "\n  want " + "\n       ".join(expected)]
    print(f"ok   {tag}")
    return []


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    exe, data = sys.argv[1], sys.argv[2]
    fc012 = os.path.join(data, "fc0_fc1_fc2.npz")
    fc012_want = {"fc0.weight": ("[8, 10]", True), "fc0.bias": ("[8]", True),
                  "fc1.weight": ("[8, 8]", False), "fc1.bias": ("[8]", False),
                  "fc2.weight": ("[3, 8]", True), "fc2.bias": ("[3]", True)}
    problems = []
    problems += expect(exe, [os.path.join(data, "bias_in_module_name.npz")],
                       {"x.weight": ("[3, 4]", True), "x.bias": ("[3]", True),
                        "a.bias.weight": ("[2, 3]", True), "a.bias.bias": ("[2]", True)})
    problems += expect(exe, [fc012, "--map", "fc1=fc0,fc2=fc1,fc3=fc2", "--freeze", "fc1.*"],
                       fc012_want)
    problems += expect(exe, [fc012, "--freeze", "fc1.*"], fc012_want)
    problems += expect(exe, [os.path.join(data, "fc2_fc3.npz"), "--freeze", "fc2.*"],
                       {"fc2.weight": ("[3, 4]", False), "fc2.bias": ("[3]", False),
                        "fc3.weight": ("[2, 3]", True), "fc3.bias": ("[2]", True)})
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
