#!/usr/bin/python3
"""freeze_sweep under mpirun on 2 ranks: a tiny sweep (16x4@8, 6 specs, 2 repetitions,
quick probes) run in an empty folder writes exactly one CSV, where every spec has its
four phase rows with ranks 2, and per row allreduce_bytes_executed ==
allreduce_bytes_planned == 4 × trainable_params, so the byte cut against `none` equals
the trainable-parameter cut exactly (frozen tensors are never sent).  A spec that freezes
everything cannot be measured (the trainer refuses a step with nothing to train), so the
sweep refuses it (exit 2, every rank, no hang) rather than reporting 0 bytes for it.
Times are not checked.

usage: dp_sweep_check.py MPIRUN FREEZE_SWEEP
"""
import csv
import os
import subprocess
import sys
import tempfile

mpirun, sweep = sys.argv[1], os.path.abspath(sys.argv[2])
SPECS = ["prefix:1", "prefix:2", "last", "fc2.*", "bitfit"]
problems = []


def run(args, cwd, limit=120):
    cmd = ["timeout", str(limit), mpirun, "-np", "2", "--oversubscribe", sweep] + args
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode == 124:
        sys.exit(f"hang: {' '.join(cmd)} ran past {limit} s\n{p.stderr[-2000:]}")
    return p


with tempfile.TemporaryDirectory() as d:
    args = ["--quick-probes", "--model", "16x4@8", "--threads", "1", "--repetitions", "2",
            "--min-time", "0.002", "--allow-dirty", "--output", "out.csv"]
    for s in SPECS:
        args += ["--spec", s]
    p = run(args, d)
    if p.returncode != 0:
        sys.exit(f"the 2-rank sweep failed (exit {p.returncode}):\n{p.stdout[-2000:]}"
                 f"{p.stderr[-2000:]}")
    written = [os.path.relpath(os.path.join(root, f), d)
               for root, _, files in os.walk(d) for f in files]
    if written != ["out.csv"]:
        problems.append(f"want exactly one file, out.csv; the run left {sorted(written)}")
    if p.stdout.count("freeze_sweep on ") != 1:
        problems.append("the table header was printed "
                        f"{p.stdout.count('freeze_sweep on ')} times (only rank 0 prints)")
    with open(os.path.join(d, "out.csv"), newline="") as f:
        rows = list(csv.DictReader(f))

want = {"none"} | set(SPECS)
by_spec = {}
for r in rows:
    by_spec.setdefault(r["freeze_spec"], []).append(r)
if set(by_spec) != want:
    problems.append(f"specs in the CSV {sorted(by_spec)}, want {sorted(want)}")
for spec, rs in by_spec.items():
    phases = sorted(r["phase"] for r in rs)
    if phases != ["backward", "forward", "optimizer", "step"]:
        problems.append(f"{spec}: phases {phases}")
none = by_spec.get("none", [{}])[0]
for r in rows:
    what = f'{r["freeze_spec"]} {r["phase"]}'
    trainable = int(r["trainable_params"])
    planned, executed = int(r["allreduce_bytes_planned"]), int(r["allreduce_bytes_executed"])
    if r["ranks"] != "2":
        problems.append(f"{what}: ranks {r['ranks']!r}, want 2")
    if not planned == executed == 4 * trainable:
        problems.append(f"{what}: allreduce bytes planned {planned}, executed {executed}, "
                        f"want both 4 × {trainable} trainable")
    # The cuts as exact fractions: 1 - b/b_none == 1 - t/t_none  <=>  b·t_none == t·b_none.
    if none and executed * int(none["trainable_params"]) != \
            trainable * int(none["allreduce_bytes_executed"]):
        problems.append(f"{what}: byte cut differs from the trainable-parameter cut")
    if not (float(r["comm_time_s"]) >= 0 and float(r["comm_hidden_s"]) >= 0):
        problems.append(f"{what}: comm_time_s {r['comm_time_s']!r}, "
                        f"comm_hidden_s {r['comm_hidden_s']!r}")
    if int(r["batch"]) != 8:
        problems.append(f"{what}: batch {r['batch']}, want the global batch 8")

# Everything frozen, alone: no spec fits, so the run is refused by every rank alike.
with tempfile.TemporaryDirectory() as d:
    p = run(["--quick-probes", "--model", "16x4@8", "--spec", "*", "--allow-dirty",
             "--output", "x.csv"], d, 60)
    if p.returncode == 0 or "nothing to train" not in p.stderr:
        problems.append(f"--spec '*' alone: exit {p.returncode}, want a refusal naming "
                        f"'nothing to train'\n{p.stderr[-1500:]}")
    if os.listdir(d):
        problems.append(f"--spec '*' alone left {os.listdir(d)}")

if problems:
    sys.exit("dp_sweep_check: " + "\n".join(problems))
print(f"dp_sweep_check: {len(rows)} rows of {len(by_spec)} specs on 2 ranks; allreduce bytes "
      "= 4 x trainable everywhere; one CSV")
