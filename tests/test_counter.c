/*
 * The FLOP counter (src/core/counter.h): every thread of a team counts into its own
 * slot and the total is their sum; a reset forgets every slot written before it, also
 * those of threads that do not count again after it (the trainer resets its counters at
 * each step, and a step may run on fewer threads than the one before).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core_testutil.h"

/* Thread t of a team of `threads` adds t + 1; returns how many threads the team had. */
static int add_from_team(fz_counter *c, int threads)
{
    int got = 1;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
    {
        counter_add(c, (uint64_t)omp_get_thread_num() + 1);
#pragma omp single
        got = omp_get_num_threads();
    }
#else
    (void)threads;
    counter_add(c, 1);
#endif
    return got;
}

static uint64_t triangle(int n) { return (uint64_t)n * (uint64_t)(n + 1) / 2; }

static void total_is_the_sum_over_the_team(void **state)
{
    (void)state;
    fz_counter *c = counter_new();
    assert_non_null(c);
    int got = add_from_team(c, 4);
    assert_int_equal(counter_total(c), triangle(got));
    counter_add(c, 100);
    assert_int_equal(counter_total(c), triangle(got) + 100);
    counter_add(NULL, 5);   /* no counter: nothing counted, nothing written */
    free(c);
}

static void reset_forgets_threads_that_do_not_count_again(void **state)
{
    (void)state;
    fz_counter *c = counter_new();
    assert_non_null(c);
    int got = add_from_team(c, 4);
    if (got < 2) {
        free(c);
        skip();   /* one thread only: no other thread's slot to forget */
    }
    counter_reset(c);
    assert_int_equal(counter_total(c), 0);
    counter_add(c, 7);   /* thread 0 alone, as a one-thread step */
    assert_int_equal(counter_total(c), 7);
    free(c);
}

static void every_step_counts_only_itself(void **state)
{
    (void)state;
    fz_counter *c = counter_new();
    assert_non_null(c);
    for (int step = 0; step < 50; step++) {
        counter_reset(c);
        int threads = 1 + step % 4;   /* the team grows and shrinks between steps */
        int got = add_from_team(c, threads);
        assert_int_equal(counter_total(c), triangle(got));
    }
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(total_is_the_sum_over_the_team),
        cmocka_unit_test(reset_forgets_threads_that_do_not_count_again),
        cmocka_unit_test(every_step_counts_only_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
