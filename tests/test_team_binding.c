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
    const fz_team_config *team = team_get();
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
    each_thread_runs_on_its_own_planned_pu(team_topology()->n_pus + 1);
}

static void one_thread_binds_the_caller(void **state)
{
    (void)state;
    each_thread_runs_on_its_own_planned_pu(1);
}

static cpu_set_t cpus_at_start;   /* before anything was bound */

/* Binding off again gives every thread of the team the CPUs the caller started with. */
static void unbinding_gives_back_the_callers_cpus(void **state)
{
    (void)state;
#if !defined(FZ_HAVE_HWLOC) || !defined(_OPENMP)
    skip();
#else
    fz_set_binding(false);
    fz_set_threads(2);
    fz_set_binding(true);
    assert_non_null(team_get()->bound_pu);
    fz_set_binding(false);
    assert_null(team_get()->bound_pu);
    int wrong = 0;
#pragma omp parallel num_threads(2) reduction(+ : wrong)
    {
        cpu_set_t mask;
        wrong += sched_getaffinity(0, sizeof mask, &mask) != 0 || !CPU_EQUAL(&mask, &cpus_at_start);
    }
    assert_int_equal(wrong, 0);
    fz_set_threads(0);
#endif
}

static int bind_for_these_tests(void **state)
{
    (void)state;
    fz_set_binding(true);   /* library callers are unbound unless they ask */
    return 0;
}

int main(void)
{
    if (sched_getaffinity(0, sizeof cpus_at_start, &cpus_at_start) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(two_threads_are_bound_to_their_pus, bind_for_these_tests),
        cmocka_unit_test_setup(oversubscribed_threads_are_bound_too, bind_for_these_tests),
        cmocka_unit_test_setup(one_thread_binds_the_caller, bind_for_these_tests),
        cmocka_unit_test(unbinding_gives_back_the_callers_cpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
