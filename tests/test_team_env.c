/* FREEZEBENCH_THREADS sets the initial team size (tests/meson.build sets it to 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "freezebench.h"

static void environment_sets_the_initial_thread_count(void **state)
{
    (void)state;
    assert_string_equal(getenv("FREEZEBENCH_THREADS"), "1");
    assert_int_equal(fz_get_threads(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(environment_sets_the_initial_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
