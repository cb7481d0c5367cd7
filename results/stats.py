"""Intervals and tests for repetition times: what every published number and every
comparison of two runs in this folder rests on (results/README.md, schema 4).

A row of a results CSV holds the time of each repetition (`time_samples_s`, typically 10).
Repetitions on a shared machine are not normal: a few run long when a neighbour wakes
up, so everything here is distribution-free or resampling-based, and built on medians.

- median_ci: exact binomial order-statistic interval of the median.  It holds its
  coverage for any continuous distribution at every n; a bootstrap of the median of 10
  samples can only return one of a handful of order statistics and under-covers there
  (the bootstrap distribution of a median is discrete and too narrow at small n).
- ratio_ci, cut_ci: percentile bootstrap of median(num)/median(den), the two sides
  resampled independently (they are separate sets of repetitions), seeded so the same
  file always gives the same interval.  There is no exact interval for a ratio of two
  medians; the bootstrap is the standard tool and is checked for coverage in
  tests/test_stats.py.
- cut_diff_ci: the same bootstrap for how far a time cut moved between two runs.
- mann_whitney_p: Mann-Whitney U (Wilcoxon rank-sum), two-sided: do two runs' times
  come from one distribution?  Rank-based, so one long repetition cannot dominate it.
  holm() corrects a family of such p-values for being tested together.

numpy is needed; scipy only for mann_whitney_p (imported there, so readers that only
want intervals do not pay for it).
"""
import math

import numpy as np

MIN_SAMPLES = 6      # the fewest samples whose min-max already covers the median at 95 %
LEVEL = 0.95
N_BOOT = 4000
SEED = 1


def parse_samples(text):
    """The `time_samples_s` field as floats: '' is [] (no samples), anything that is not
    a finite positive number raises ValueError naming it.  A time of 0, a negative time,
    NaN or infinity is a fault of the writer, never a measurement."""
    out = []
    for token in (text or "").split():
        try:
            x = float(token)
        except ValueError:
            raise ValueError(f"sample {token!r} is not a number") from None
        if not math.isfinite(x) or x <= 0:
            raise ValueError(f"sample {token!r} is not a finite positive time")
        out.append(x)
    return out


def format_samples(xs):
    """The inverse of parse_samples: repr() round-trips a double exactly, as the C
    writer's '%.17g' does."""
    return " ".join(repr(float(x)) for x in xs)


def median(xs):
    if len(xs) == 0:
        raise ValueError("median of no samples")
    return float(np.median(np.asarray(xs, dtype=float)))


def _order_statistic_rank(n, level):
    """The largest k (1-based) with P(k <= Binom(n, 1/2) <= n-k) >= level, or None.
    Exact integer arithmetic: the coverage of the pair (x_(k), x_(n+1-k)) is the chance
    that between k and n-k of the samples fall below the true median."""
    total = 2 ** n
    best = None
    for k in range(1, n // 2 + 1):
        inside = sum(math.comb(n, i) for i in range(k, n - k + 1))
        if inside >= level * total:
            best = k
        else:
            break           # coverage only falls as k grows
    return best


def median_ci(xs, level=LEVEL):
    """(lo, hi): an exact distribution-free `level` confidence interval of the median,
    the order statistics (x_(k), x_(n+1-k)) with the largest k that still covers.  None
    with fewer than MIN_SAMPLES samples (below 6, even min-max covers less than 95 %).
    Its coverage is at least `level` (conservative: n = 10 gives k = 2, 97.9 %)."""
    n = len(xs)
    if n < MIN_SAMPLES:
        return None
    k = _order_statistic_rank(n, level)
    if k is None:
        return None
    s = sorted(float(x) for x in xs)
    return s[k - 1], s[n - k]


def _boot_medians(rng, xs, n_boot):
    """Medians of n_boot resamples (with replacement) of xs, in one array operation."""
    a = np.asarray(xs, dtype=float)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    return np.median(a[idx], axis=1)


def ratio_ci(num, den, level=LEVEL, n_boot=N_BOOT, seed=SEED):
    """(median(num)/median(den), lo, hi): percentile bootstrap interval of the ratio of
    medians, num and den resampled independently, `n_boot` resamples from
    numpy.random.default_rng(seed) (num's indices drawn first, then den's).  lo and hi
    are None when either side has fewer than MIN_SAMPLES samples: with so few the
    bootstrap has too few distinct medians to say anything."""
    point = median(num) / median(den)
    if len(num) < MIN_SAMPLES or len(den) < MIN_SAMPLES:
        return point, None, None
    rng = np.random.default_rng(seed)
    ratios = _boot_medians(rng, num, n_boot) / _boot_medians(rng, den, n_boot)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(ratios, [tail, 100 - tail])
    return point, float(lo), float(hi)


def cut_ci(x, none, level=LEVEL, n_boot=N_BOOT, seed=SEED):
    """(1 - median(x)/median(none), lo, hi): the time cut of a freeze spec against spec
    `none`, with the interval of ratio_ci(x, none) turned round (a high ratio is a low
    cut).  lo and hi None as in ratio_ci."""
    ratio, lo, hi = ratio_ci(x, none, level, n_boot, seed)
    if lo is None:
        return 1 - ratio, None, None
    return 1 - ratio, 1 - hi, 1 - lo


def cut_diff_ci(x_a, none_a, x_b, none_b, level=LEVEL, n_boot=N_BOOT, seed=SEED):
    """(cut_b - cut_a, lo, hi): how far run B's time cut of a spec moved from run A's,
    each cut 1 - median(x)/median(none) of its own run, with a percentile bootstrap
    interval: the four sample sets resampled independently (x_a, none_a, x_b, none_b
    drawn in that order from default_rng(seed)).  lo and hi None when any set has
    fewer than MIN_SAMPLES samples."""
    sets = (x_a, none_a, x_b, none_b)
    diff = median(x_a) / median(none_a) - median(x_b) / median(none_b)
    if min(len(s) for s in sets) < MIN_SAMPLES:
        return diff, None, None
    rng = np.random.default_rng(seed)
    xa, na, xb, nb = (_boot_medians(rng, s, n_boot) for s in sets)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(xa / na - xb / nb, [tail, 100 - tail])
    return diff, float(lo), float(hi)


def cut_diff_p(x_a, none_a, x_b, none_b, n_boot=20000, seed=SEED):
    """Two-sided bootstrap p-value of 'run B's time cut equals run A's': twice the share
    of resampled differences on the far side of 0 (with +1 smoothing), i.e. one minus
    the level of the widest percentile interval that still excludes 0.  It exists so
    that cut changes go through the same Holm correction as the U tests: a run compares
    dozens of cuts, all sharing their run's `none` samples, and 95% intervals one by one
    would call a few of them changed by chance alone.  More resamples than an interval
    needs, since Holm asks for p-values near alpha / (number of cuts).  1.0 when any set
    has fewer than MIN_SAMPLES samples."""
    sets = (x_a, none_a, x_b, none_b)
    if min(len(s) for s in sets) < MIN_SAMPLES:
        return 1.0
    rng = np.random.default_rng(seed)
    xa, na, xb, nb = (_boot_medians(rng, s, n_boot) for s in sets)
    diff = xa / na - xb / nb
    below, above = int(np.sum(diff <= 0)), int(np.sum(diff >= 0))
    return min(1.0, 2 * (min(below, above) + 1) / (n_boot + 1))


def holm(pvalues):
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest of m is
    multiplied by m - i + 1, and kept at least as large as the ones before it.  A test
    is significant at alpha when its adjusted p <= alpha; over all the tests the chance
    of any false call stays at most alpha (many configurations are compared at once, so
    without it some would come out 'significant' by chance alone)."""
    m = len(pvalues)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def mann_whitney_p(a, b):
    """Two-sided p-value of the Mann-Whitney U test (scipy.stats.mannwhitneyu, method
    'auto': exact for small samples without ties, else the normal approximation with
    tie and continuity corrections).  Two identical constant samples leave the
    approximation undefined (no variance); they are one distribution, so p = 1."""
    from scipy.stats import mannwhitneyu
    p = float(mannwhitneyu(a, b, alternative="two-sided", method="auto").pvalue)
    return 1.0 if math.isnan(p) else p


def _missing(*xs):
    return any(x is None or (isinstance(x, float) and math.isnan(x)) for x in xs)


def too_wide_time(lo, hi, median, limit=0.05):
    """True when a time's interval half-width is more than `limit` of its median (5 %):
    the number is too noisy to publish unmarked.  No interval at all is too wide too."""
    if _missing(lo, hi, median) or median <= 0:
        return True
    return (hi - lo) / 2 / median > limit


def too_wide_cut(lo, hi, limit=0.03):
    """True when a cut's interval half-width is more than `limit` (3 percentage points:
    cuts are fractions, compared on an absolute scale), or there is no interval."""
    if _missing(lo, hi):
        return True
    return (hi - lo) / 2 > limit


def _decimals(x, digits):
    """Decimals that give x `digits` significant digits (at least 0)."""
    if x == 0 or not math.isfinite(x):
        return digits - 1
    return max(digits - 1 - math.floor(math.log10(abs(x))), 0)


def fmt_interval(point, lo, hi, percent=False, digits=3):
    """'1.23 [1.19–1.27]', or with percent=True (cuts given as fractions)
    '35.0% [33.8–36.1]'.  The ends take the point's decimals so the three line up.  A
    missing value (None or NaN) reads 'n/a': 'n/a' for the point, '[n/a]' for an
    interval without ends."""
    if _missing(point):
        return "n/a"
    if percent:
        scale, dec, unit = 100.0, 1, "%"
    else:
        scale, dec, unit = 1.0, None, ""
        # Rounding can carry into the next decade (9.996 -> 10.0): one decimal fewer.
        dec = _decimals(point, digits)
        if _decimals(round(point, dec), digits) < dec:
            dec -= 1
    text = f"{point * scale:.{dec}f}{unit}"
    if _missing(lo) and _missing(hi):
        return text + " [n/a]"
    ends = ["n/a" if _missing(v) else f"{v * scale:.{dec}f}" for v in (lo, hi)]
    return f"{text} [{ends[0]}–{ends[1]}]"
