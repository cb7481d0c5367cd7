/* A restricted affinity mask (taskset, a batch scheduler) is respected: the team is
 * built over the CPUs the process may use, not over the machine.  Its own executable:
 * the mask must be set before anything builds the team. */
#define _GNU_SOURCE
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "freezebench.h"
#include "team.h"

static void team_on_a_one_cpu_mask_has_one_thread_on_that_cpu(void **state)
{
    (void)state;
#if !defined(FZ_HAVE_HWLOC) && !defined(_OPENMP)
    skip();   /* neither hwloc nor OpenMP: the CPU count comes from sysconf, unmasked */
#endif
    cpu_set_t allowed;
    assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &allowed))
            last = c;
    assert_true(last >= 0);
    /* The last allowed CPU rather than CPU 0, so the check cannot pass by accident. */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(last, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);

    fz_set_binding(true);
    const fz_team_config *team = team_get();
    assert_int_equal(team->threads, 1);
    fz_machine m;
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_int_equal(m.cores, 1);
    assert_int_equal(m.pus, 1);
#ifdef FZ_HAVE_HWLOC
    assert_non_null(team->bound_pu);
    assert_int_equal(team->bound_pu[0], last);
#endif
    fz_set_threads(0);   /* a rebuild keeps to the same mask */
    assert_int_equal(fz_get_threads(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(team_on_a_one_cpu_mask_has_one_thread_on_that_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
