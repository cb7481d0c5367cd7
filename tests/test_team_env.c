/* The environment sets up the team: tests/meson.build runs this with
 * FREEZEBENCH_THREADS=1 and FREEZEBENCH_BIND=0, three times: FREEZEBENCH_STREAM_C=0, =1
 * and unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"
#include "cpu.h"
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

static void stream_c_environment_decides_whether_c_stays_cached(void **state)
{
    (void)state;
    const char *s = getenv("FREEZEBENCH_STREAM_C");
    bool cached = team_gemm_ctx().cached_c;
    if (s && !strcmp(s, "0"))
        assert_true(cached);
    else if (s && !strcmp(s, "1"))
        assert_false(cached);
    else   /* unset: the CPU's own answer */
        assert_true(cached == !cpu_streaming_stores_pay());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(environment_sets_the_initial_thread_count),
        cmocka_unit_test(bind_zero_leaves_threads_unbound),
        cmocka_unit_test(stream_c_environment_decides_whether_c_stays_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
