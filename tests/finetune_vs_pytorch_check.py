#!/usr/bin/python3
"""bench/finetune_vs_pytorch.py: its time-to-target rule on curves made up to pin each
case, its pairing of two CSVs, then a --quick run of two seeds whose CSV must hold every
optimizer and spec with both seeds and consistent ratios.

usage: finetune_vs_pytorch_check.py DRIVER FINETUNE FREEZE_SWEEP WORKDIR
Exit 77 (SKIP) when torch or Fashion-MNIST is missing, for the end-to-end part only; the
rule's checks run first either way.
"""
import csv
import importlib.util
import math
import os
import subprocess
import sys

driver, finetune, freeze_sweep, work = sys.argv[1:5]
spec = importlib.util.spec_from_file_location("fvp", driver)
fvp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fvp)

# The rule.  Reached at the first epoch: that epoch's time, no extrapolation back to 0.
assert fvp.time_to_target([(1.0, 0.92), (2.0, 0.95)], 0.90) == 1.0
# Crossed between epochs 1 and 2: a quarter of the way, by the straight line.
got = fvp.time_to_target([(1.0, 0.90), (2.0, 0.94), (3.0, 0.96)], 0.91)
assert abs(got - 1.25) < 1e-12, got
# Exactly on an epoch's accuracy: that epoch.
assert fvp.time_to_target([(1.0, 0.90), (2.0, 0.91)], 0.91) == 2.0
# A dip below after reaching does not matter: the first crossing counts.
got = fvp.time_to_target([(1.0, 0.80), (2.0, 0.95), (3.0, 0.85)], 0.90)
assert abs(got - (1.0 + 0.10 / 0.15)) < 1e-12, got
# Never reached.
assert math.isnan(fvp.time_to_target([(1.0, 0.5), (2.0, 0.6)], 0.9))

# Pairing: the common target is F x the mean of both sides' best "none" accuracy, the C
# side's cache rows are compared with PyTorch's cache-0 rows of the spec.
def rows(spec, cache, curve):
    return [{"optimizer": "sgd", "freeze_spec": spec, "cache": str(cache), "epoch": str(e + 1),
             "time_s": str(t), "test_accuracy": str(a)} for e, (t, a) in enumerate(curve)]

c = {("sgd", "none", 0): rows("none", 0, [(1, 0.90), (2, 1.00)]),
     ("sgd", "last", 1): rows("last", 1, [(0.5, 0.80), (1.0, 0.90)])}
py = {("sgd", "none", 0): rows("none", 0, [(2, 0.90), (4, 0.90)]),
      ("sgd", "last", 0): rows("last", 0, [(1.5, 0.90), (3.0, 0.95)])}
out = fvp.pair_ratios(c, py, "sgd", 0.9)   # target 0.9 x (1.00 + 0.90) / 2 = 0.855
none, last = out[("none", 0)], out[("last", 1)]
assert abs(none["c_ttt"] - 1.0) < 1e-12 and abs(none["py_ttt"] - 2.0) < 1e-12, none
assert abs(none["ttt_ratio"] - 2.0) < 1e-12 and abs(none["total_ratio"] - 2.0) < 1e-12
assert abs(last["c_ttt"] - 0.775) < 1e-12, last            # 0.5 + 0.5 x 0.055 / 0.10
assert abs(last["ttt_ratio"] - 1.5 / 0.775) < 1e-12, last
assert abs(last["total_ratio"] - 3.0) < 1e-12, last
# The split of the ttt ratio: epochs needed by the same rule on the epoch axis (none:
# both at their first epoch; last: C a 0.55 of the way into its second epoch, PyTorch at
# its first), and the seconds per epoch up to the crossing; their product is the ratio.
assert none["c_epochs"] == 1.0 and none["py_epochs"] == 1.0, none
assert none["epochs_ratio"] == 1.0 and abs(none["pace_ratio"] - 2.0) < 1e-12, none
assert abs(last["c_epochs"] - 1.55) < 1e-12 and last["py_epochs"] == 1.0, last
assert abs(last["epochs_ratio"] - 1 / 1.55) < 1e-12, last
assert abs(last["pace_ratio"] - 3.0) < 1e-12, last        # 1.5 s/epoch over 0.5 s/epoch
assert abs(last["pace_ratio"] * last["epochs_ratio"] - last["ttt_ratio"]) < 1e-12, last

# Summary over seeds: a seed that never reached the target is left out of the ratio but
# counted in seeds, not in seeds_reached.
s = fvp.summarise([dict(none, ttt_ratio=2.0), dict(none, ttt_ratio=3.0),
                   dict(none, ttt_ratio=math.nan, c_ttt=math.nan, py_ttt=math.nan,
                        c_epochs=math.nan, py_epochs=math.nan, epochs_ratio=math.nan,
                        pace_ratio=math.nan)])
assert s["seeds_reached"] == 2 and s["ttt_ratio_median"] == 2.5, s
assert s["ttt_ratio_min"] == 2.0 and s["ttt_ratio_max"] == 3.0, s
assert s["pace_ratio_median"] == 2.0 and s["epochs_ratio_median"] == 1.0, s

# End to end, --quick, two seeds: every optimizer x default spec, both seeds, the sides
# alternating.
out_csv = os.path.join(work, "finetune_vs_pytorch_quick.csv")
p = subprocess.run([sys.executable, driver, "--quick", "--seeds", "2", "--cache",
                    "--finetune", finetune, "--freeze-sweep", freeze_sweep,
                    "--output", out_csv, "--overwrite", "--allow-dirty"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
if p.returncode == 77:
    print("SKIP: torch or Fashion-MNIST missing (the rule's checks passed)")
    sys.exit(77)
assert p.returncode == 0, p.stderr
order = [l.split(": ")[1] for l in p.stderr.splitlines() if l.startswith("seed ")]
assert order == ["c", "pytorch", "pytorch", "c", "c", "pytorch", "pytorch", "c"], order
with open(out_csv, newline="") as f:
    table = list(csv.DictReader(f))
assert table and list(table[0].keys()) == fvp.COLUMNS, table[:1]
keys = {(r["optimizer"], r["freeze_spec"], r["cache"]) for r in table}
for opt in ("adamw", "sgd"):
    for sp in ("none", "prefix:1", "prefix:2", "last", "bitfit", "gradual"):
        assert (opt, sp, "0") in keys, (opt, sp)
    assert (opt, "prefix:1", "1") in keys and (opt, "last", "1") in keys
for r in table:
    assert r["schema_version"] == "finetune-vs-pytorch-2" and r["seeds"] == "2", r
    assert r["first"] == "c" and r["epochs"] == "3", r
    assert float(r["total_ratio_min"]) <= float(r["total_ratio_median"]) <= \
        float(r["total_ratio_max"]), r
    if r["freeze_spec"] == "none" and r["cache"] == "0":
        # Both sides reach 95% of their common best on the unfrozen run.
        assert r["seeds_reached"] == "2", r
    if int(r["seeds_reached"]):
        for key in ("ttt_ratio", "pace_ratio", "epochs_ratio"):
            assert float(r[key + "_min"]) <= float(r[key + "_median"]) <= \
                float(r[key + "_max"]), (key, r)
        assert float(r["c_epochs_to_target_median"]) > 0, r
    else:
        for key in ("ttt_ratio", "pace_ratio", "epochs_ratio"):
            assert r[key + "_median"] == "", (key, r)
print(f"finetune_vs_pytorch: rule, pairing and a --quick run of {len(table)} rows checked")
