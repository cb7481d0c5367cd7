/* The machine report and the team's thread count controls on this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "freezebench.h"
#include "gemm.h"
#include "kernels_active.h"
#include "stderr_testutil.h"
#include "team.h"

static void default_team_is_one_thread_per_core_without_smt(void **state)
{
    (void)state;
    fz_set_threads(0);
    fz_machine m;
    assert_int_equal(fz_machine_get(&m), FZ_OK);
#ifdef _OPENMP
    /* FREEZEBENCH_THREADS is unset for this test (see tests/meson.build). */
    assert_int_equal(m.threads, schedule_default_threads(team_topology(), false));
    assert_true(m.threads <= m.cores);
#else
    assert_int_equal(m.threads, 1);
#endif
    assert_false(m.smt);
    assert_int_equal(m.threads % m.groups, 0);
}

static void set_threads_rebuilds_the_team(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();
#endif
    fz_set_threads(3);
    assert_int_equal(fz_get_threads(), 3);
    assert_int_equal(team_get()->threads, 3);
    fz_set_threads(1);
    assert_int_equal(fz_get_threads(), 1);
    fz_set_threads(-4);   /* negative: the default, like 0 */
    assert_int_equal(fz_get_threads(), schedule_default_threads(team_topology(), false));
}

static void set_threads_to(void *n) { fz_set_threads(*(int *)n); }

/* Runs fz_set_threads(n) with stderr captured into `out`. */
static void set_threads_capturing_stderr(int n, char *out, size_t cap)
{
    capture_stderr(set_threads_to, &n, out, cap);
}

/* More threads than cores are allowed, with a note: in fz_machine's team_note always,
 * and on stderr only when FREEZEBENCH_VERBOSE=1 asks for notes (the library is
 * otherwise silent). */
static void more_threads_than_cores_leave_a_note(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();
#endif
    fz_machine m;
    fz_machine_get(&m);
    char text[512];
    set_threads_capturing_stderr(m.cores + 1, text, sizeof text);
    assert_int_equal(fz_get_threads(), m.cores + 1);
    assert_string_equal(text, "");
    fz_machine_get(&m);
    assert_true(strstr(m.team_note, "SMT siblings") || strstr(m.team_note, "oversubscribed"));

    setenv("FREEZEBENCH_VERBOSE", "1", 1);
    set_threads_capturing_stderr(m.cores + 1, text, sizeof text);
    unsetenv("FREEZEBENCH_VERBOSE");
    assert_non_null(strstr(text, "freezebench: note: "));
    assert_true(strstr(text, "SMT siblings") || strstr(text, "oversubscribed"));

    set_threads_capturing_stderr(m.cores, text, sizeof text);
    assert_string_equal(text, "");
    fz_machine_get(&m);
    assert_string_equal(m.team_note, "");
}

static void smt_flag_sets_the_default_to_every_pu(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();
#endif
    fz_set_threads(0);
    fz_set_smt(true);
    fz_machine m;
    fz_machine_get(&m);
    assert_true(m.smt);
    assert_int_equal(m.threads, schedule_default_threads(team_topology(), true));
    fz_set_smt(false);
    assert_false(team_get()->smt);
}

static void machine_fields_describe_the_topology(void **state)
{
    (void)state;
    fz_machine m;
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_true(m.cores >= 1 && m.pus >= m.cores);
    assert_true(m.packages >= 1 && m.numa_nodes >= 1);
    assert_string_equal(m.isa, fz_isa());
    assert_true(m.cpu_model[0] && m.arch[0] && m.topology[0]);
    const fz_sgemm_kernel *kern = kernels_get()->microkernel;
    fz_gemm_ctx ctx = team_gemm_ctx();
    fz_blocking b = kern ? sgemm_blocking(kern, &ctx) : (fz_blocking){ 0, 0, 0 };
    assert_int_equal(m.kc, b.kc);
    assert_int_equal(m.mc, b.mc);
    assert_int_equal(m.nc, b.nc);
#ifdef FZ_HAVE_HWLOC
    assert_non_null(strstr(m.topology, "hwloc"));
#endif
}

/* Library callers are not bound unless they ask (FREEZEBENCH_BIND unset here). */
static void binding_is_off_until_asked_for(void **state)
{
    (void)state;
    fz_machine m;
    assert_false(fz_get_binding());
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_false(m.bound);
#ifdef FZ_HAVE_HWLOC
    fz_set_binding(true);
    assert_true(fz_get_binding());
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_true(m.bound);
    fz_set_binding(false);
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_false(m.bound);
#endif
}

static void null_machine_is_einval(void **state)
{
    (void)state;
    fz_machine_print(NULL);   /* no crash, no output */
    assert_int_equal(fz_machine_get(NULL), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "fz_machine_get"));
}

static void report_names_machine_team_and_blocking(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    fz_machine_print(f);
    long size = ftell(f);
    assert_true(size > 0);
    char *text = calloc(1, (size_t)size + 1);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    fz_machine m;
    fz_machine_get(&m);
    assert_non_null(strstr(text, m.cpu_model));
    assert_non_null(strstr(text, "team"));
    assert_non_null(strstr(text, "thread:core/PU 0:"));
    char kc[32];
    snprintf(kc, sizeof kc, "KC %zu", m.kc);
    assert_non_null(strstr(text, kernels_get()->microkernel ? kc : "blocking  none"));
    free(text);
}

/* Switching the kernels switches the blocking to the new tile, from the same caches. */
static void blocking_follows_the_tile_of_the_kernels_in_use(void **state)
{
    (void)state;
    const char *isas[] = { "avx2", "avx512", "neon" };
    fz_cache_sizes caches = team_gemm_ctx().caches;
    for (int i = 0; i < 3; i++) {
        const fz_kernels *k = kernels_for(isas[i]);
        if (!k)
            continue;
        kernels_override(k);
        fz_machine m;
        assert_int_equal(fz_machine_get(&m), FZ_OK);
        fz_blocking b = blocking_from_caches(caches, k->microkernel->mr,
                                             k->microkernel->nr, sizeof(float));
        assert_int_equal(m.kc, b.kc);
        assert_int_equal(m.mc, b.mc);
        assert_int_equal(m.nc, b.nc);
    }
    kernels_override(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_team_is_one_thread_per_core_without_smt),
        cmocka_unit_test(set_threads_rebuilds_the_team),
        cmocka_unit_test(more_threads_than_cores_leave_a_note),
        cmocka_unit_test(smt_flag_sets_the_default_to_every_pu),
        cmocka_unit_test(machine_fields_describe_the_topology),
        cmocka_unit_test(null_machine_is_einval),
        cmocka_unit_test(report_names_machine_team_and_blocking),
        cmocka_unit_test(blocking_follows_the_tile_of_the_kernels_in_use),
        cmocka_unit_test(binding_is_off_until_asked_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
