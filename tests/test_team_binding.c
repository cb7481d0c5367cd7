/* Each thread of the team runs bound to its planned PU, and stays bound in later
 * parallel regions of the same size (the kernels' regions, not the one that bound it). */
#define _GNU_SOURCE
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "freezebench.h"
#include "team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static void each_thread_runs_on_its_own_planned_pu(int threads)
{
#if !defined(FZ_HAVE_HWLOC) || !defined(_OPENMP)
    (void)threads;
    skip();   /* binding needs hwloc, a team needs OpenMP */
#else
    fz_set_threads(threads);
    const fz_team_config *team = fz_team_get();
    assert_int_equal(team->threads, threads);
    assert_non_null(team->bound_pu);
    int wrong = 0, ran = 0;
    for (int region = 0; region < 3; region++) {
#pragma omp parallel num_threads(team->threads) reduction(+ : wrong, ran)
        {
            cpu_set_t mask;
            int t = omp_get_thread_num();
            ran++;
            if (sched_getaffinity(0, sizeof mask, &mask) != 0 || CPU_COUNT(&mask) != 1 ||
                !CPU_ISSET(team->bound_pu[t], &mask))
                wrong++;
        }
    }
    assert_int_equal(ran, 3 * threads);
    assert_int_equal(wrong, 0);
#endif
}

static void two_threads_are_bound_to_their_pus(void **state)
{
    (void)state;
    each_thread_runs_on_its_own_planned_pu(2);
}

static void oversubscribed_threads_are_bound_too(void **state)
{
    (void)state;
    each_thread_runs_on_its_own_planned_pu(fz_team_topology()->n_pus + 1);
}

static void one_thread_binds_the_caller(void **state)
{
    (void)state;
    each_thread_runs_on_its_own_planned_pu(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_threads_are_bound_to_their_pus),
        cmocka_unit_test(oversubscribed_threads_are_bound_too),
        cmocka_unit_test(one_thread_binds_the_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
