/* When hwloc cannot load a topology, the team falls back to one unbound thread per
 * allowed CPU, says so on stderr and in the machine report, and still trains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"
#include "error.h"
#include "team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int allowed_cpus(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

static fz_status load_fails(fz_topo *t)
{
    (void)t;
    return set_error(FZ_EIO, "injected: hwloc_topology_load failed");
}

static fz_status load_missing_xml(fz_topo *t)
{
    return topo_load_xml(t, TOPOLOGY_DIR "/no-such-machine.xml");
}

static void failing_load_gives_one_unbound_thread_per_allowed_cpu(void **state)
{
    (void)state;
    team_reload(load_fails);
    const fz_team_config *team = team_get();
    assert_int_equal(team->threads, allowed_cpus());
    assert_int_equal(team->groups, 1);
    assert_null(team->bound_pu);
    fz_gemm_ctx ctx = team_gemm_ctx();   /* no caches known: the GEMM uses defaults */
    assert_int_equal(ctx.caches.l1d, 0);
    assert_int_equal(ctx.caches.l2, 0);
    assert_int_equal(ctx.threads, team->threads);
    fz_machine m;
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_non_null(strstr(m.topology, "fallback"));
    assert_non_null(strstr(m.topology, "injected"));
    assert_false(m.bound);
}

static void unreadable_xml_topology_falls_back_naming_the_file(void **state)
{
    (void)state;
    team_reload(load_missing_xml);
    fz_machine m;
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_non_null(strstr(m.topology, "fallback"));
#ifdef FZ_HAVE_HWLOC
    assert_non_null(strstr(m.topology, "no-such-machine.xml"));
#endif
    assert_int_equal(m.threads, allowed_cpus());
}

static void fallback_team_still_trains(void **state)
{
    (void)state;
    team_reload(load_fails);
    const size_t w[] = { 4, 3, 2 };
    fz_model *model = fz_mlp_create(w, 3, 5);
    fz_trainer *t = fz_trainer_create(model, 8, (fz_sgd){ .lr = 0.1f });
    float x[32] = {0}, y[16] = {0}, loss = -1.0f;
    x[0] = 1.0f;
    y[0] = 1.0f;
    assert_int_equal(fz_train_step(t, x, y, &loss), FZ_OK);
    assert_true(loss >= 0.0f);
    fz_trainer_free(t);
    fz_model_free(model);
}

static void reload_of_this_machine_leaves_the_fallback(void **state)
{
    (void)state;
#ifndef FZ_HAVE_HWLOC
    skip();
#endif
    team_reload(NULL);
    fz_machine m;
    assert_int_equal(fz_machine_get(&m), FZ_OK);
    assert_null(strstr(m.topology, "fallback"));
    assert_non_null(strstr(m.topology, "hwloc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failing_load_gives_one_unbound_thread_per_allowed_cpu),
        cmocka_unit_test(unreadable_xml_topology_falls_back_naming_the_file),
        cmocka_unit_test(fallback_team_still_trains),
        cmocka_unit_test(reload_of_this_machine_leaves_the_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
