/*
 * bench/results/stats.c: the median's exact interval picks the order statistics the binomial
 * says, the bootstrap intervals are reproducible, cover the true value at about their
 * nominal 95% on synthetic samples with a known answer, and separate a real shift
 * from noise.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "stats.h"

/* A seeded generator for the synthetic samples (xorshift64*), and a normal deviate. */
static uint64_t state = 88172645463325252u;
static double uniform(void)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return ((state * 2685821657736338717u) >> 11) * (1.0 / 9007199254740992.0);
}
static double normal(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

/* Times around `median` with lognormal noise of `sigma`: the median is exactly known. */
static void lognormal(double *v, size_t n, double median, double sigma)
{
    for (size_t i = 0; i < n; i++)
        v[i] = median * exp(sigma * normal());
}

static void median_interval_is_the_binomial_order_statistics(void **state_)
{
    (void)state_;
    double v[20];
    for (int i = 0; i < 20; i++)
        v[i] = 20 - i;   /* unsorted on purpose: 20, 19, ..., 1 */
    /* Fewer than six samples: no interval. */
    assert_true(isnan(fzb_median_ci(v, 5).lo) && isnan(fzb_median_ci(v, 5).hi));
    /* n = 6 and 8: only [min, max] reaches 95% (n = 8, k = 2 covers 93%). */
    fzb_interval ci = fzb_median_ci(v + 14, 6);   /* 6..1 */
    assert_true(ci.lo == 1 && ci.hi == 6);
    ci = fzb_median_ci(v + 12, 8);
    assert_true(ci.lo == 1 && ci.hi == 8);
    /* n = 10: k = 2 covers 97.9%, k = 3 only 89%. */
    ci = fzb_median_ci(v + 10, 10);
    assert_true(ci.lo == 2 && ci.hi == 9);
    /* n = 20: k = 6 covers 95.9%, k = 7 88.5%. */
    ci = fzb_median_ci(v, 20);
    assert_true(ci.lo == 6 && ci.hi == 15);
    assert_true(fzb_median(v, 20) == 10.5);
    assert_true(v[0] == 20);   /* the samples are not reordered */
}

static void bootstrap_is_reproducible_and_needs_six_samples(void **state_)
{
    (void)state_;
    double x[10], y[10];
    lognormal(x, 10, 1.0, 0.1);
    lognormal(y, 10, 2.0, 0.1);
    fzb_interval a = fzb_ratio_ci(x, 10, y, 10), b = fzb_ratio_ci(x, 10, y, 10);
    assert_true(a.lo == b.lo && a.hi == b.hi);
    assert_true(a.lo < a.hi);
    fzb_interval c = fzb_cut_ci(x, 10, y, 10);
    assert_true(fabs(c.lo - (1 - a.hi)) < 1e-15 && fabs(c.hi - (1 - a.lo)) < 1e-15);
    assert_true(isnan(fzb_ratio_ci(x, 5, y, 10).lo));
    assert_true(isnan(fzb_cut_ci(x, 10, y, 5).hi));
}

/* Over many synthetic experiments whose true values are known, a 95% interval should
 * hold them about 95 times in 100: fewer means it is too narrow to trust, and the exact
 * median interval must never fall below its guarantee by more than sampling error. */
static void intervals_cover_the_true_value_at_about_the_nominal_rate(void **state_)
{
    (void)state_;
    enum { TRIALS = 600, N = 10 };
    int median_hits = 0, cut_hits = 0;
    double x[N], none[N];
    for (int t = 0; t < TRIALS; t++) {
        lognormal(x, N, 0.7, 0.08);      /* a 30% cut, with 8% noise on each side */
        lognormal(none, N, 1.0, 0.08);
        fzb_interval m = fzb_median_ci(x, N);
        median_hits += m.lo <= 0.7 && 0.7 <= m.hi;
        fzb_interval c = fzb_cut_ci(x, N, none, N);
        cut_hits += c.lo <= 0.3 && 0.3 <= c.hi;
    }
    double median_cover = (double)median_hits / TRIALS, cut_cover = (double)cut_hits / TRIALS;
    print_message("coverage over %d trials: median %.3f (exact: at least 0.979 for n = 10), "
                  "cut %.3f (bootstrap, nominal 0.95)\n", TRIALS, median_cover, cut_cover);
    /* Binomial sampling error of 600 trials is about ±0.9 points at 95%. */
    assert_true(median_cover >= 0.96);
    /* A percentile bootstrap of ten samples runs somewhat narrow; below 0.88 it lies. */
    assert_true(cut_cover >= 0.88 && cut_cover <= 0.995);
}

static void a_real_shift_is_told_from_noise(void **state_)
{
    (void)state_;
    double a[12], b[12], c[12];
    lognormal(a, 12, 1.0, 0.03);
    lognormal(b, 12, 1.0, 0.03);   /* the same distribution */
    lognormal(c, 12, 1.2, 0.03);   /* 20% slower */
    fzb_interval same = fzb_ratio_ci(b, 12, a, 12), slower = fzb_ratio_ci(c, 12, a, 12);
    assert_true(same.lo < 1.0 && 1.0 < same.hi);
    assert_true(slower.lo > 1.1 && slower.hi < 1.3);
    /* Too wide to use: ±3 points for a cut, ±5% for a median. */
    assert_false(fzb_cut_ci_too_wide((fzb_interval){ 0.30, 0.35 }));
    assert_true(fzb_cut_ci_too_wide((fzb_interval){ 0.30, 0.37 }));
    assert_true(fzb_cut_ci_too_wide((fzb_interval){ NAN, NAN }));
    assert_false(fzb_time_ci_too_wide((fzb_interval){ 0.96, 1.04 }, 1.0));
    assert_true(fzb_time_ci_too_wide((fzb_interval){ 0.90, 1.04 }, 1.0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(median_interval_is_the_binomial_order_statistics),
        cmocka_unit_test(bootstrap_is_reproducible_and_needs_six_samples),
        cmocka_unit_test(intervals_cover_the_true_value_at_about_the_nominal_rate),
        cmocka_unit_test(a_real_shift_is_told_from_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
