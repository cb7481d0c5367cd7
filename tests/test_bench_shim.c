/* The C shim over Google Benchmark: a C function registered from C runs, and its runs,
 * counters, errors and aggregates come back to C. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gbench.h"

typedef struct {
    int calls;
    int64_t iterations;
} tally;

static void count_iterations(fzb_state *s, void *user)
{
    tally *t = user;
    t->calls++;
    volatile double x = 1.0;
    double here = 0;
    while (fzb_keep_running(s)) {
        for (int i = 0; i < 100; i++)
            x = x * 1.0000001;
        t->iterations++;
        here++;
    }
    fzb_counter(s, "items", 10.0, FZB_PLAIN);
    fzb_counter(s, "ones", here, FZB_PER_ITER);   /* a sum over the iterations, averaged */
    fzb_counter(s, "FLOPS", 1000.0, FZB_RATE);
}

static int reset(void **state)
{
    (void)state;
    fzb_clear();
    return 0;
}

static const fzb_run *find(const fzb_results *r, const char *base, const char *aggregate,
                           int64_t repetition)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->runs[i].base, base) == 0 && strcmp(r->runs[i].aggregate, aggregate) == 0
            && r->runs[i].repetition == repetition)
            return &r->runs[i];
    return NULL;
}

static void c_benchmark_runs_and_returns_its_counters(void **state)
{
    (void)state;
    tally t = {0};
    fzb_bench *b = fzb_register("shim/count", count_iterations, &t, NULL, NULL, 0);
    assert_non_null(b);
    fzb_set_repetitions(b, 3);
    fzb_set_min_time(b, 0.001);
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    assert_true(t.calls >= 3);
    assert_true(t.iterations > 0);
    for (int rep = 0; rep < 3; rep++) {
        const fzb_run *run = find(r, "shim/count", "", rep);
        assert_non_null(run);
        assert_ptr_equal(run->user, &t);
        assert_false(run->error);
        assert_int_equal(run->repetitions, 3);
        assert_true(run->iterations > 0);
        assert_true(run->real_time_s > 0);
        double items, flops;
        assert_true(fzb_run_counter(run, "items", &items));
        assert_true(items == 10.0);
        /* A rate counter is per iteration times iterations over the run's real time. */
        assert_true(fzb_run_counter(run, "FLOPS", &flops));
        assert_true(fabs(flops * run->real_time_s - 1000.0) < 1e-3 * 1000.0);
        double ones;
        assert_true(fzb_run_counter(run, "ones", &ones));
        assert_true(fabs(ones - 1.0) < 1e-12);
        assert_false(fzb_run_counter(run, "no such counter", &items));
    }
    fzb_results_free(r);
}

static void repetitions_come_back_with_min_median_max(void **state)
{
    (void)state;
    tally t = {0};
    fzb_bench *b = fzb_register("shim/aggregates", count_iterations, &t, NULL, NULL, 0);
    fzb_set_repetitions(b, 3);
    fzb_set_min_time(b, 0.001);
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    const fzb_run *mn = find(r, "shim/aggregates", "min", -1);
    const fzb_run *md = find(r, "shim/aggregates", "median", -1);
    const fzb_run *mx = find(r, "shim/aggregates", "max", -1);
    assert_non_null(mn);
    assert_non_null(md);
    assert_non_null(mx);
    assert_true(mn->real_time_s <= md->real_time_s && md->real_time_s <= mx->real_time_s);
    double lo = INFINITY, hi = 0;
    for (int rep = 0; rep < 3; rep++) {
        double v = find(r, "shim/aggregates", "", rep)->real_time_s;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    assert_true(fabs(mn->real_time_s - lo) <= 1e-9 * lo);
    assert_true(fabs(mx->real_time_s - hi) <= 1e-9 * hi);
    fzb_results_free(r);
}

static void check_args(fzb_state *s, void *user)
{
    (void)user;
    if (fzb_arg(s, 0) != 3 || fzb_arg(s, 1) != 7) {
        fzb_skip_with_error(s, "arguments did not arrive");
        return;
    }
    while (fzb_keep_running(s)) {
    }
}

static void arguments_reach_the_function_and_name_the_run(void **state)
{
    (void)state;
    int64_t args[2] = { 3, 7 };
    const char *names[2] = { "M", "N" };
    int user;
    assert_non_null(fzb_register("shim/args", check_args, &user, args, names, 2));
    /* The same name with other arguments is another benchmark; the same both is refused. */
    int64_t other[2] = { 4, 7 };
    assert_non_null(fzb_register("shim/args", check_args, NULL, other, names, 2));
    assert_null(fzb_register("shim/args", check_args, NULL, args, names, 2));
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    const fzb_run *run = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->runs[i].user == &user)
            run = &r->runs[i];
    assert_non_null(run);
    assert_false(run->error);
    assert_non_null(strstr(run->name, "shim/args/M:3/N:7"));
    fzb_results_free(r);
}

static void skip_with_error(fzb_state *s, void *user)
{
    (void)user;
    fzb_skip_with_error(s, "the thing under test is missing");
    while (fzb_keep_running(s)) {
    }
}

static void skipped_benchmark_reports_its_error(void **state)
{
    (void)state;
    assert_non_null(fzb_register("shim/skip", skip_with_error, NULL, NULL, NULL, 0));
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    const fzb_run *run = find(r, "shim/skip", "", 0);
    assert_non_null(run);
    assert_true(run->error);
    assert_string_equal(run->error_message, "the thing under test is missing");
    fzb_results_free(r);
}

int main(int argc, char **argv)
{
    fzb_init(&argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(c_benchmark_runs_and_returns_its_counters, reset),
        cmocka_unit_test_setup(repetitions_come_back_with_min_median_max, reset),
        cmocka_unit_test_setup(arguments_reach_the_function_and_name_the_run, reset),
        cmocka_unit_test_setup(skipped_benchmark_reports_its_error, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
