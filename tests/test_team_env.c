/* The environment sets up the team: tests/meson.build runs this with
 * FREEZEBENCH_THREADS=1 and FREEZEBENCH_BIND=0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "freezebench.h"
#include "team.h"

static void environment_sets_the_initial_thread_count(void **state)
{
    (void)state;
    assert_string_equal(getenv("FREEZEBENCH_THREADS"), "1");
    assert_int_equal(fz_get_threads(), 1);
}

static void bind_zero_leaves_threads_unbound(void **state)
{
    (void)state;
    assert_null(team_get()->bound_pu);
    fz_machine m;
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_false(m.bound);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(environment_sets_the_initial_thread_count),
        cmocka_unit_test(bind_zero_leaves_threads_unbound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
