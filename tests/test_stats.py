#!/usr/bin/python3
"""results/stats.py against known answers on seeded synthetic samples.

- parse_samples/format_samples: '' is no samples, junk, NaN, infinity, 0 and negative
  times are refused, and the text round-trips every double exactly;
- median_ci: the order-statistic rank k matches scipy's binomial distribution for
  n = 6..60, n < 6 gives None, n = 10 gives (x_(2), x_(9));
- coverage, 500 seeded trials of lognormal noise at n = 10: median_ci holds the true
  median in at least 95 % of them (its exact coverage is 97.85 %: band 0.95–1.00);
  ratio_ci and cut_ci hold the true ratio and cut in 92–99.5 % (a percentile bootstrap
  is approximate; its nominal 95 % with a margin of about 4 standard errors);
- mann_whitney_p: 1000 pairs of equal distributions are called different at alpha 0.05
  in 1.5–8 % of trials (nominal 5 %), a 20 % shift at 5 % noise is caught in at least
  99 %;
- the bootstrap is deterministic for a seed, cut_ci is ratio_ci turned round, fewer
  than 6 samples give no interval; cut_diff_ci is the difference of two cut_ci points
  and holds 0 for a run against itself; holm() gives the textbook adjusted p-values;
  too_wide_* and fmt_interval as documented.

usage: test_stats.py [results/stats.py]     (default: the one beside this folder)
Prints 'N passed, 0 failed' and exits 0, or lists the failures and exits 1.
"""
import importlib.util
import math
import os
import sys

import numpy as np
from scipy.stats import binom

here = os.path.dirname(os.path.abspath(__file__))
path = (os.path.abspath(sys.argv[1]) if len(sys.argv) > 1
        else os.path.join(here, "..", "results", "stats.py"))
spec = importlib.util.spec_from_file_location("stats", path)
stats = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stats)

passed, failed = 0, []


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failed.append(what)


def raises(fn, *args):
    try:
        fn(*args)
    except ValueError:
        return True
    return False


def lognormal(rng, median, sigma, n=10):
    return median * np.exp(sigma * rng.standard_normal(n))


# ---- parsing and formatting samples ---------------------------------------------------
check(stats.parse_samples("") == [] and stats.parse_samples("  ") == [], "'' is not []")
check(stats.parse_samples("1e-3 2.5e-3\t3e-3") == [1e-3, 2.5e-3, 3e-3], "plain samples")
for junk in ("1e-3 abc", "nan", "1e-3 inf", "0", "-1e-3", "1e-3,2e-3"):
    check(raises(stats.parse_samples, junk), f"parse_samples({junk!r}) accepted")
xs = list(np.random.default_rng(1).lognormal(-12, 0.3, 10))
check(stats.parse_samples(stats.format_samples(xs)) == xs, "format/parse does not round-trip")

# ---- the median and its exact interval ------------------------------------------------
check(stats.median([3.0, 1.0, 2.0]) == 2.0, "median of 3")
check(stats.median([0.1, 0.3]) == 0.5 * (0.1 + 0.3), "median of 2 is not the C side's mean")
check(raises(stats.median, []), "median of no samples")
for n in range(stats.MIN_SAMPLES, 61):
    k = stats._order_statistic_rank(n, stats.LEVEL)
    cover = lambda k: binom.cdf(n - k, n, 0.5) - binom.cdf(k - 1, n, 0.5)  # noqa: E731
    check(k is not None and cover(k) >= stats.LEVEL - 1e-12
          and (k + 1 > n // 2 or cover(k + 1) < stats.LEVEL),
          f"n={n}: k={k} is not the largest rank covering {stats.LEVEL}")
for n in range(stats.MIN_SAMPLES):
    check(stats.median_ci([1.0 + i for i in range(n)]) is None, f"median_ci of {n} samples")
check(stats.median_ci([6, 1, 5, 2, 4, 3]) == (1, 6), "n=6: the interval is min-max")
check(stats.median_ci(list(range(10, 0, -1))) == (2, 9), "n=10: the interval is x(2)-x(9)")

# ---- coverage on 500 seeded trials ----------------------------------------------------
TRIALS = 500
rng = np.random.default_rng(20270102)
hit_median = hit_ratio = hit_cut = 0
for t in range(TRIALS):
    sigma = (0.02, 0.1, 0.3)[t % 3]         # quiet to very noisy machines
    x = lognormal(rng, 0.75, sigma)          # a freeze spec at 75 % of none's time
    none = lognormal(rng, 1.0, sigma)
    lo, hi = stats.median_ci(none)
    hit_median += lo <= 1.0 <= hi
    _, lo, hi = stats.ratio_ci(x, none, seed=t)
    hit_ratio += lo <= 0.75 <= hi
    x, none = lognormal(rng, 0.75, sigma), lognormal(rng, 1.0, sigma)   # fresh pair
    _, lo, hi = stats.cut_ci(x, none, seed=t)
    hit_cut += lo <= 0.25 <= hi
for name, hits, low, high in (("median_ci", hit_median, 0.95, 1.0),
                              ("ratio_ci", hit_ratio, 0.92, 0.995),
                              ("cut_ci", hit_cut, 0.92, 0.995)):
    rate = hits / TRIALS
    check(low <= rate <= high, f"{name} covered the true value in {rate:.3f} of {TRIALS} "
                               f"trials, want {low}–{high}")

# ---- the U test: false positives and power --------------------------------------------
false_pos = caught = 0
for t in range(1000):
    a, b = lognormal(rng, 1.0, 0.05), lognormal(rng, 1.0, 0.05)
    false_pos += stats.mann_whitney_p(a, b) < 0.05
    if t < 200:
        caught += stats.mann_whitney_p(a, lognormal(rng, 1.2, 0.05)) < 0.05
check(0.015 <= false_pos / 1000 <= 0.08,
      f"equal distributions called different in {false_pos / 10:.1f} % of 1000 trials, "
      "want 1.5–8 % (nominal 5 %)")
check(caught >= 198, f"a 20 % shift at 5 % noise caught in {caught} of 200 trials")
check(stats.mann_whitney_p([1.0] * 10, [1.0] * 10) == 1.0, "two constant equal samples")
check(stats.mann_whitney_p(list(range(1, 11)), list(range(1, 11))) > 0.9, "identical samples")

# ---- the bootstrap's contract ---------------------------------------------------------
x, none = list(lognormal(rng, 0.8, 0.1)), list(lognormal(rng, 1.0, 0.1))
r1, r2 = stats.ratio_ci(x, none), stats.ratio_ci(x, none)
check(r1 == r2, "ratio_ci differs between two calls with the same seed")
check(stats.ratio_ci(x, none, seed=2) != r1, "ratio_ci ignores its seed")
check(r1[0] == stats.median(x) / stats.median(none), "ratio_ci's point is not the median ratio")
check(r1[1] < r1[0] < r1[2], f"ratio interval {r1} does not hold its point")
c = stats.cut_ci(x, none)
check(c == (1 - r1[0], 1 - r1[2], 1 - r1[1]), f"cut_ci {c} is not ratio_ci {r1} turned round")
check(stats.ratio_ci(x[:5], none)[1:] == (None, None), "5 samples gave a ratio interval")
check(stats.cut_ci(x, none[:5])[1:] == (None, None), "5 samples gave a cut interval")
_, lo99, hi99 = stats.ratio_ci(x, none, level=0.99)
check(lo99 <= r1[1] and hi99 >= r1[2], "a 99 % interval is narrower than the 95 % one")

# cut_diff_ci: its point is the difference of the two runs' cuts, it is seeded, and a
# run against a copy of itself moves nothing (0 inside the interval).
xb, noneb = list(lognormal(rng, 0.7, 0.1)), list(lognormal(rng, 1.0, 0.1))
d = stats.cut_diff_ci(x, none, xb, noneb)
want = stats.cut_ci(xb, noneb)[0] - stats.cut_ci(x, none)[0]
check(abs(d[0] - want) < 1e-15 and d[1] < d[0] < d[2], f"cut_diff_ci {d}, want point {want}")
check(d == stats.cut_diff_ci(x, none, xb, noneb), "cut_diff_ci is not deterministic")
same = stats.cut_diff_ci(x, none, x, none)
check(same[0] == 0 and same[1] < 0 < same[2], f"a run against itself: {same}")
check(stats.cut_diff_ci(x, none, xb, noneb[:4])[1:] == (None, None), "4 samples, an interval")

# cut_diff_p: a run against itself is no evidence at all; a cut moved by 20 points with
# 3% noise is overwhelming evidence (as small as 20000 resamples can say); too few
# samples say nothing.
check(stats.cut_diff_p(x, none, x, none) > 0.5, "a run against itself is significant")
moved = list(lognormal(rng, 0.5, 0.03))
tight_x, tight_none = list(lognormal(rng, 0.7, 0.03)), list(lognormal(rng, 1.0, 0.03))
p_moved = stats.cut_diff_p(tight_x, tight_none, moved, tight_none)
check(p_moved <= 2 / 20001 + 1e-12, f"a 20-point cut change gave p = {p_moved}")
check(stats.cut_diff_p(x, none, xb, noneb[:4]) == 1.0, "4 samples gave a p-value")

# holm: the textbook example, in the order given, and monotone in the sorted order.
adj = stats.holm([0.01, 0.04, 0.03, 0.005])
want = [0.03, 0.06, 0.06, 0.02]
check(all(abs(a - w) < 1e-12 for a, w in zip(adj, want)), f"holm gave {adj}, want {want}")
check(stats.holm([0.5, 0.9]) == [1.0, 1.0] and stats.holm([]) == [], "holm caps at 1")

# ---- noise limits and formatting ------------------------------------------------------
check(not stats.too_wide_time(0.96, 1.04, 1.0) and stats.too_wide_time(0.9, 1.1, 1.0),
      "too_wide_time at ±4 % / ±10 %")
check(stats.too_wide_time(None, None, 1.0) and stats.too_wide_time(float("nan"), 1, 1.0),
      "too_wide_time without an interval")
check(not stats.too_wide_cut(0.33, 0.37) and stats.too_wide_cut(0.30, 0.40)
      and stats.too_wide_cut(None, 0.4), "too_wide_cut at ±2 / ±5 points, none")
for got, want in ((stats.fmt_interval(1.0712, 1.02, 1.1234), "1.07 [1.02–1.12]"),
                  (stats.fmt_interval(0.35, 0.338, 0.361, percent=True), "35.0% [33.8–36.1]"),
                  (stats.fmt_interval(9.996, 9.5, 10.2), "10.0 [9.5–10.2]"),
                  (stats.fmt_interval(0.00851, 0.0081, 0.0089), "0.00851 [0.00810–0.00890]"),
                  (stats.fmt_interval(0.25, None, None, percent=True), "25.0% [n/a]"),
                  (stats.fmt_interval(math.nan, None, None), "n/a"),
                  (stats.fmt_interval(1.5, None, 1.6), "1.50 [n/a–1.60]")):
    check(got == want, f"fmt_interval gave {got!r}, want {want!r}")

for f in failed:
    print("FAIL:", f)
print(f"{passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
