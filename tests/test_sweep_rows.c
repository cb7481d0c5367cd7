/* The freeze sweep end to end, in-process, on a tiny configuration: every row complete,
 * cuts consistent with the FLOP columns, specs that do not fit a model skipped. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sweep_testutil.h"

static fzb_csv *rows;   /* the tiny sweep's CSV, read back from its file */

static int run_tiny_sweep(void **state)
{
    (void)state;
    const char *argv[] = {
        "freeze_sweep", "--model", "10,5,1@8", "--model", "16x4@4", "--threads", "1,2",
        "--spec", "prefix:1", "--spec", "prefix:2", "--spec", "fc3.*", "--spec", "bitfit",
        "--repetitions", "6", "--min-time", "0.001", NULL,
    };
    return sweep_run_and_read(sizeof argv / sizeof *argv - 1, argv, 2, &rows);
}

static int free_rows(void **state)
{
    (void)state;
    fzb_csv_free(rows);
    return 0;
}

static const char *field(size_t row, const char *col) { return sweep_field(rows, row, col); }

static double num(size_t row, const char *col) { return strtod(field(row, col), NULL); }

static bool same_config(size_t a, size_t b)
{
    return !strcmp(field(a, "model"), field(b, "model")) && !strcmp(field(a, "batch"), field(b, "batch"))
           && !strcmp(field(a, "threads"), field(b, "threads")) && !strcmp(field(a, "phase"), field(b, "phase"));
}

static void every_column_of_every_row_is_filled(void **state)
{
    (void)state;
    /* 10,5,1: none, prefix:1, bitfit (prefix:2 freezes all, fc3.* names nothing);
     * 16x4: all five.  × 2 thread counts × 4 phases. */
    assert_int_equal(fzb_csv_rows(rows), (3 + 5) * 2 * 4);
    for (size_t r = 0; r < fzb_csv_rows(rows); r++)
        for (size_t c = 0; c < fzb_csv_columns(rows); c++)
            if (fzb_csv_field(rows, r, c)[0] == '\0')
                fail_msg("row %zu column %s is empty", r, fzb_csv_column_name(rows, c));
}

static void specs_that_do_not_fit_a_model_are_skipped(void **state)
{
    (void)state;
    for (size_t r = 0; r < fzb_csv_rows(rows); r++) {
        if (strcmp(field(r, "model"), "10,5,1") == 0) {
            assert_string_not_equal(field(r, "freeze_spec"), "prefix:2");
            assert_string_not_equal(field(r, "freeze_spec"), "fc3.*");
        }
    }
}

static void cuts_follow_the_flops_of_none(void **state)
{
    (void)state;
    for (size_t r = 0; r < fzb_csv_rows(rows); r++) {
        size_t none = (size_t)-1;
        for (size_t o = 0; o < fzb_csv_rows(rows); o++)
            if (same_config(r, o) && strcmp(field(o, "freeze_spec"), "none") == 0)
                none = o;
        assert_true(none != (size_t)-1);
        double want = 1.0 - num(r, "flops_planned") / num(none, "flops_planned");
        assert_true(fabs(num(r, "flop_cut") - want) < 1e-12);
        double want_t = 1.0 - num(r, "time_median_s") / num(none, "time_median_s");
        assert_true(fabs(num(r, "time_cut") - want_t) < 1e-9);
        if (r == none)
            assert_true(num(r, "flop_cut") == 0 && num(r, "time_cut") == 0);
    }
}

static void flops_add_up_and_times_are_ordered(void **state)
{
    (void)state;
    for (size_t r = 0; r < fzb_csv_rows(rows); r++) {
        assert_true(num(r, "flops_planned") == num(r, "flops_executed"));
        assert_true(num(r, "flops_planned") > 0);
        const char *phase = field(r, "phase");
        if (!strcmp(phase, "backward"))
            assert_true(num(r, "dgrad_flops_planned") + num(r, "wgrad_flops_planned")
                        == num(r, "flops_planned"));
        if (!strcmp(phase, "forward") || !strcmp(phase, "optimizer"))
            assert_true(num(r, "dgrad_flops_planned") == 0 && num(r, "wgrad_flops_planned") == 0);
        assert_true(num(r, "time_min_s") <= num(r, "time_median_s"));
        assert_true(num(r, "time_median_s") <= num(r, "time_max_s"));
        assert_true(num(r, "time_min_s") > 0);
        assert_int_equal((int)num(r, "repetitions"), 6);
        assert_string_equal(field(r, "bench"), "freeze_sweep");
        assert_string_equal(field(r, "impl"), "freezebench");
        double params = !strcmp(field(r, "model"), "10,5,1") ? 10 * 5 + 5 + 5 + 1
                                                             : 3 * (16 * 16 + 16);
        assert_true(num(r, "trainable_params") + num(r, "frozen_params") == params);
    }
}

/* The samples of row r (at most 64), as written. */
static size_t samples_of(size_t r, double *v)
{
    size_t n = 0;
    const char *text = field(r, "time_samples_s");
    char *end;
    for (double x = strtod(text, &end); end != text && n < 64; x = strtod(text, &end)) {
        v[n++] = x;
        text = end;
    }
    assert_string_equal(text, "");
    return n;
}

/* Every repetition's time is in the row; the time columns, the median's interval and the
 * cut's interval are what those samples give. */
static void samples_give_the_times_and_intervals(void **state)
{
    (void)state;
    for (size_t r = 0; r < fzb_csv_rows(rows); r++) {
        double v[64], w[64];
        size_t n = samples_of(r, v);
        assert_int_equal(n, (size_t)num(r, "repetitions"));
        assert_true(fzb_median(v, n) == num(r, "time_median_s"));
        fzb_interval ci = fzb_median_ci(v, n);
        assert_true(ci.lo == num(r, "time_median_ci_low_s"));
        assert_true(ci.hi == num(r, "time_median_ci_high_s"));
        assert_true(ci.lo <= num(r, "time_median_s") && num(r, "time_median_s") <= ci.hi);
        size_t none = (size_t)-1;
        for (size_t o = 0; o < fzb_csv_rows(rows); o++)
            if (same_config(r, o) && strcmp(field(o, "freeze_spec"), "none") == 0)
                none = o;
        assert_true(none != (size_t)-1);
        if (none == r) {   /* the reference against itself: exactly 0 */
            assert_true(num(r, "time_cut_ci_low") == 0 && num(r, "time_cut_ci_high") == 0);
            continue;
        }
        size_t m = samples_of(none, w);
        fzb_interval cut = fzb_cut_ci(v, n, w, m);
        assert_true(cut.lo == num(r, "time_cut_ci_low") && cut.hi == num(r, "time_cut_ci_high"));
        assert_true(cut.lo <= cut.hi);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_column_of_every_row_is_filled),
        cmocka_unit_test(specs_that_do_not_fit_a_model_are_skipped),
        cmocka_unit_test(cuts_follow_the_flops_of_none),
        cmocka_unit_test(flops_add_up_and_times_are_ordered),
        cmocka_unit_test(samples_give_the_times_and_intervals),
    };
    return cmocka_run_group_tests(tests, run_tiny_sweep, free_rows);
}
