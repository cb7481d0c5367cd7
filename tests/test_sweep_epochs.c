/* The freeze sweep's epoch phases (--epoch-samples), in-process on a tiny model: for each
 * spec an `epoch` and an `epoch_cached` row, executed FLOPs equal to planned, the cached
 * epoch's FLOPs lower by exactly the prefix's forward, cache_bytes where a cache exists. */
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

static fzb_csv *rows;

static int run_epoch_sweep(void **state)
{
    (void)state;
    /* 40 samples in batches of 8: 5 steps an epoch. */
    const char *argv[] = {
        "freeze_sweep", "--model", "16x5@8", "--threads", "1", "--spec", "prefix:2",
        "--spec", "prefix:3", "--epoch-samples", "40", "--repetitions", "2",
        "--min-time", "0.001", NULL,
    };
    return sweep_run_and_read(sizeof argv / sizeof *argv - 1, argv, 1, &rows);
}

static int free_rows(void **state)
{
    (void)state;
    fzb_csv_free(rows);
    return 0;
}

static const char *field(size_t row, const char *col) { return sweep_field(rows, row, col); }

static double num(size_t row, const char *col) { return strtod(field(row, col), NULL); }

/* The row of this spec and phase. */
static size_t row_of(const char *spec, const char *phase)
{
    for (size_t r = 0; r < fzb_csv_rows(rows); r++)
        if (!strcmp(field(r, "freeze_spec"), spec) && !strcmp(field(r, "phase"), phase))
            return r;
    fail_msg("no row %s %s", spec, phase);
    return 0;
}

static void epoch_rows_plan_and_execute_the_same_flops(void **state)
{
    (void)state;
    /* 3 specs × (4 step phases + epoch + epoch_cached). */
    assert_int_equal(fzb_csv_rows(rows), 3 * 6);
    const char *specs[] = { "none", "prefix:2", "prefix:3" };
    double B = 8, W = 16, steps = 5;
    for (size_t i = 0; i < 3; i++) {
        size_t e = row_of(specs[i], "epoch"), c = row_of(specs[i], "epoch_cached");
        assert_true(num(e, "flops_planned") == num(e, "flops_executed"));
        assert_true(num(c, "flops_planned") == num(c, "flops_executed"));
        assert_true(num(e, "time_median_s") > 0 && num(c, "time_median_s") > 0);
        assert_string_equal(field(e, "cache_bytes"), "0");
        /* The prefix's forward per step: K layers of GEMM + bias + ReLU. */
        double K = i == 0 ? 0 : i == 1 ? 2 : 3;
        double prefix = steps * K * (2 * B * W * W + 2 * B * W);
        assert_true(num(e, "flops_planned") - num(c, "flops_planned") == prefix);
        assert_true(num(c, "cache_bytes") == (K ? 40 * W * 4 + 40 : 0));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(epoch_rows_plan_and_execute_the_same_flops),
    };
    return cmocka_run_group_tests(tests, run_epoch_sweep, free_rows);
}
