/*
 * The statistics behind every interval the bench programs print and write: a 95%
 * confidence interval of a median time, and of a time cut (1 - median(x)/median(none)).
 * results/stats.py computes the same quantities from the CSV's samples, by the same
 * methods, for the scripts; results/README.md describes both.
 *
 * The median's interval is exact and distribution-free (binomial order statistics): a
 * bootstrap of a median of ten samples can only return a few of those samples and
 * covers the true median less often than it claims.  A cut is a ratio of two medians,
 * for which no such exact interval exists, so it is bootstrapped: each side's samples
 * resampled independently, as the two configurations were timed independently.
 */
#ifndef FZB_STATS_H
#define FZB_STATS_H

#include <stdbool.h>
#include <stddef.h>

/* Fewer samples give no interval: with five, even [min, max] covers the median with
 * only 94% confidence. */
#define FZB_MIN_SAMPLES 6
#define FZB_LEVEL 0.95
#define FZB_BOOTSTRAP_RESAMPLES 4000

/* An interval; both ends NAN where there is none. */
typedef struct {
    double lo, hi;
} fzb_interval;

/* The median of n values (n >= 1); `v` is not changed. */
double fzb_median(const double *v, size_t n);

/* The 95% interval of the median: sorted samples x(k) and x(n+1-k) with the largest k for
 * which P(k <= Binomial(n, 1/2) <= n - k) >= 0.95.  NAN ends when n < FZB_MIN_SAMPLES. */
fzb_interval fzb_median_ci(const double *v, size_t n);

/* The 95% percentile-bootstrap interval of median(x)/median(y), from
 * FZB_BOOTSTRAP_RESAMPLES resamples with a fixed seed (the same samples give the same
 * interval).  NAN ends when either side has fewer than FZB_MIN_SAMPLES, or memory runs
 * out. */
fzb_interval fzb_ratio_ci(const double *x, size_t nx, const double *y, size_t ny);

/* The same for the cut 1 - median(x)/median(none). */
fzb_interval fzb_cut_ci(const double *x, size_t nx, const double *none, size_t n_none);

/* Too wide to be useful: a median's interval wider than ±5% of it, a cut's wider than
 * ±3 points, or no interval at all. */
bool fzb_time_ci_too_wide(fzb_interval ci, double median);
bool fzb_cut_ci_too_wide(fzb_interval ci);

#endif
