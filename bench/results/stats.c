#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_sorted(const double *v, size_t n)
{
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double *sorted_copy(const double *v, size_t n)
{
    double *s = malloc(n * sizeof *s);
    if (s) {
        memcpy(s, v, n * sizeof *s);
        qsort(s, n, sizeof *s, cmp_double);
    }
    return s;
}

double fzb_median(const double *v, size_t n)
{
    double *s = sorted_copy(v, n);
    if (!s)
        return NAN;
    double m = median_sorted(s, n);
    free(s);
    return m;
}

/* P(B <= j) for B ~ Binomial(n, 1/2), summed in logs so n in the thousands stays finite. */
static double binomial_half_cdf(size_t n, size_t j)
{
    double sum = 0;
    for (size_t i = 0; i <= j; i++)
        sum += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) - n * log(2.0));
    return sum;
}

fzb_interval fzb_median_ci(const double *v, size_t n)
{
    fzb_interval ci = { NAN, NAN };
    if (n < FZB_MIN_SAMPLES)
        return ci;
    /* [x(k), x(n+1-k)] misses the median when fewer than k samples lie on one side of
     * it: probability 2·P(B <= k-1).  Take the largest k that keeps that at most 5%. */
    size_t k = 1;
    while (k + 1 <= n / 2 && 1.0 - 2.0 * binomial_half_cdf(n, k) >= FZB_LEVEL)
        k++;
    double *s = sorted_copy(v, n);
    if (!s)
        return ci;
    ci.lo = s[k - 1];
    ci.hi = s[n - k];
    free(s);
    return ci;
}

/* splitmix64: small, seedable, and good enough to draw resample indices. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double resampled_median(const double *v, size_t n, double *scratch, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = v[next_random(rng) % n];
    qsort(scratch, n, sizeof *scratch, cmp_double);
    return median_sorted(scratch, n);
}

fzb_interval fzb_ratio_ci(const double *x, size_t nx, const double *y, size_t ny)
{
    fzb_interval ci = { NAN, NAN };
    if (nx < FZB_MIN_SAMPLES || ny < FZB_MIN_SAMPLES)
        return ci;
    enum { B = FZB_BOOTSTRAP_RESAMPLES };
    double *ratios = malloc(B * sizeof *ratios);
    double *scratch = malloc((nx > ny ? nx : ny) * sizeof *scratch);
    if (ratios && scratch) {
        uint64_t rng = 0x5eed;
        size_t n = 0;
        for (size_t b = 0; b < B; b++) {
            double mx = resampled_median(x, nx, scratch, &rng);
            double my = resampled_median(y, ny, scratch, &rng);
            if (my > 0)
                ratios[n++] = mx / my;
        }
        if (n > 0) {
            qsort(ratios, n, sizeof *ratios, cmp_double);
            /* The 2.5th and 97.5th percentiles, linear between order statistics. */
            double q[2] = { (1.0 - FZB_LEVEL) / 2, 1.0 - (1.0 - FZB_LEVEL) / 2 };
            double *end[2] = { &ci.lo, &ci.hi };
            for (int i = 0; i < 2; i++) {
                double pos = q[i] * (double)(n - 1);
                size_t j = (size_t)pos;
                double frac = pos - (double)j;
                *end[i] = j + 1 < n ? ratios[j] + frac * (ratios[j + 1] - ratios[j]) : ratios[j];
            }
        }
    }
    free(ratios);
    free(scratch);
    return ci;
}

fzb_interval fzb_cut_ci(const double *x, size_t nx, const double *none, size_t n_none)
{
    fzb_interval r = fzb_ratio_ci(x, nx, none, n_none);
    return (fzb_interval){ 1.0 - r.hi, 1.0 - r.lo };
}

bool fzb_time_ci_too_wide(fzb_interval ci, double median)
{
    return !(median > 0) || isnan(ci.lo) || isnan(ci.hi) ||
           (ci.hi - ci.lo) / 2 > 0.05 * median;
}

bool fzb_cut_ci_too_wide(fzb_interval ci)
{
    return isnan(ci.lo) || isnan(ci.hi) || (ci.hi - ci.lo) / 2 > 0.03;
}
