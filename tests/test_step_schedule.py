#!/usr/bin/python3
"""bench/step_vs_pytorch.py's schedule, which is what keeps its ratios free of order
bias, checked as the pure function it is (no torch, no library, no timing):
  - every round visits every spec exactly once, and every visit runs every side once;
  - the spec in the first place changes from one round to the next (so no spec is
    always measured first), and over many rounds every spec gets the first place;
  - each library runs first in half of a spec's visits (exactly, for an even number of
    rounds; within one otherwise), and so in half of all visits; with two PyTorch sides
    (--zero-grad both) each leads PyTorch's part half the time;
  - the same seed gives the same schedule, another seed another order;
and the warm-up's stopping rule: not before 2·window steps, not while steps still get
faster, yes once they stop.

usage: test_step_schedule.py bench/step_vs_pytorch.py
Needs numpy (results/stats.py, which the script imports); not torch.
"""
import collections
import importlib.util
import sys

spec = importlib.util.spec_from_file_location("step_vs_pytorch", sys.argv[1])
svp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(svp)

problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


SPEC_LISTS = [["none"], ["none", "prefix:4"], ["none", "prefix:4", "prefix:7"],
              ["prefix:7", "prefix:4", "none"],
              ["none", "prefix:2", "prefix:4", "prefix:6", "prefix:7", "fc4.*", "last"]]
for zero_grad in ("none", "zero", "both"):
    sides = svp.side_names(zero_grad)
    pt_sides = [s for s in sides if svp.library(s) == "pytorch"]
    for specs in SPEC_LISTS:
        for rounds in (1, 2, 5, 6, 8, 10):
            for seed in range(12):
                where = f"{zero_grad} {specs} rounds {rounds} seed {seed}"
                plan = svp.schedule(specs, rounds, seed, sides)
                check(len(plan) == rounds, f"{where}: {len(plan)} rounds")
                firsts = collections.Counter()   # per spec: visits freezebench ran first
                leads = collections.Counter()    # per (spec, PyTorch side): led PyTorch
                for r, visits in enumerate(plan):
                    check(sorted(s for s, _ in visits) == sorted(specs),
                          f"{where}: round {r} visits {[s for s, _ in visits]}")
                    for s, order in visits:
                        check(sorted(order) == sorted(sides),
                              f"{where}: round {r} {s} runs {order}")
                        firsts[s] += svp.library(order[0]) == "freezebench"
                        pt_order = [o for o in order if o in pt_sides]
                        leads[(s, pt_order[0])] += 1
                    if r and len(specs) > 1:
                        check(visits[0][0] != plan[r - 1][0][0],
                              f"{where}: rounds {r - 1} and {r} both start with "
                              f"{visits[0][0]}")
                for s in specs:
                    # freezebench first in half the visits, PyTorch in the other half
                    half = rounds / 2
                    check(abs(firsts[s] - half) <= 0.5 and
                          (rounds % 2 or firsts[s] == half),
                          f"{where}: freezebench first in {firsts[s]} of {s}'s "
                          f"{rounds} visits")
                    if len(pt_sides) == 2 and rounds % 4 == 0:
                        for p in pt_sides:
                            check(leads[(s, p)] == rounds // 2,
                                  f"{where}: {p} leads PyTorch in {leads[(s, p)]} of "
                                  f"{s}'s {rounds} visits")
                if rounds % 2 == 0:
                    fz_first = sum(firsts.values())
                    check(fz_first * 2 == rounds * len(specs),
                          f"{where}: freezebench first in {fz_first} of "
                          f"{rounds * len(specs)} visits")
                again = svp.schedule(list(specs), rounds, seed, list(sides))
                check(again == plan, f"{where}: the same seed gave another schedule")

# Over many rounds every spec gets the first place, and seeds differ.
specs = ["none", "prefix:4", "prefix:7"]
sides = svp.side_names("none")
plan = svp.schedule(specs, 30, 1, sides)
starts = {visits[0][0] for visits in plan}
check(starts == set(specs), f"30 rounds start only with {sorted(starts)}")
orders = {tuple(tuple(s for s, _ in visits) for visits in svp.schedule(specs, 10, seed, sides))
          for seed in range(8)}
check(len(orders) == 8, f"8 seeds gave {len(orders)} different orders of 10 rounds")

# The warm-up's stopping rule.
faster = svp.stopped_getting_faster
check(not faster([], 1) and not faster([1.0], 1), "stopped with fewer than 2 steps")
check(not faster([2.0, 1.0], 1), "stopped while the last step was twice as fast")
check(faster([1.0, 1.0], 1) and faster([1.0, 1.2], 1), "went on once steps stopped "
      "getting faster")
check(faster([1.0, 0.99], 1), "went on for a 1% gain, inside the tolerance")
check(not faster([5, 4, 3, 2, 2, 1.5], 3), "stopped with the last 3 still 25% faster")
check(faster([5, 2, 2, 2, 2, 2], 3), "went on with the last 3 as fast as the 3 before")
check(not faster([5, 2, 2, 2, 2], 3), "stopped with fewer than 6 steps at window 3")
# warm_up stops at the rule or at its bound, whichever comes first.
steps = []
times = svp.warm_up(lambda: steps.append(1), 1, 4)
check(2 <= len(times) <= 4 and len(steps) == len(times), f"warm_up ran {len(steps)} steps, "
      f"returned {len(times)} times, bound 4")

for p in problems:
    print("FAIL", p)
print(f"{len(problems)} problems")
sys.exit(1 if problems else 0)
