/* The thread plan on machines we do not have: which PU each thread gets, the groups
 * that split N, and the caches the blocking counts on — from hwloc synthetic topologies and XML files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blocking.h"
#include "schedule.h"
#include "topologies.h"

typedef struct { fz_topo topo; fz_schedule plan; } fixture;

static int setup(void **state)
{
    *state = calloc(1, sizeof(fixture));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

#ifdef FZ_HAVE_HWLOC
#define NEED_HWLOC()
#else
#define NEED_HWLOC() skip()
#endif

static const fz_topo_pu *pu_of(const fixture *f, int thread)
{
    return &f->topo.pu[f->plan.pu[thread]];
}

/* What every plan promises: groups divide the threads, the threads of one logical group
 * sit in one L3 group (when there are several groups), no PU or core is shared unless
 * the plan says so, and the bound PU is the planned one. */
static void assert_plan_consistent(const fixture *f)
{
    const fz_schedule *p = &f->plan;
    assert_true(p->threads >= 1 && p->groups >= 1);
    assert_int_equal(p->threads % p->groups, 0);
    int per = p->threads / p->groups;
    for (int t = 0; t < p->threads; t++) {
        assert_int_equal(p->os_index[t], pu_of(f, t)->os_index);
        if (p->groups > 1)
            assert_int_equal(pu_of(f, t)->group, pu_of(f, t / per * per)->group);
        for (int u = 0; u < t; u++) {
            if (!p->oversubscribed)
                assert_int_not_equal(p->pu[t], p->pu[u]);
            if (!p->smt_siblings_used)
                assert_int_not_equal(pu_of(f, t)->core, pu_of(f, u)->core);
            if (p->groups > 1 && t / per != u / per)   /* distinct groups, distinct L3s */
                assert_int_not_equal(pu_of(f, t)->group, pu_of(f, u)->group);
        }
    }
}

static void server_default_is_one_thread_per_core_over_both_sockets(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, SERVER_2S), FZ_OK);
    schedule_plan(&f->topo, 0, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.threads, 32);
    assert_int_equal(f->plan.groups, 2);
    assert_false(f->plan.smt_siblings_used);
    for (int t = 0; t < 32; t++) {
        assert_int_equal(pu_of(f, t)->smt_rank, 0);
        assert_int_equal(pu_of(f, t)->package, t / 16);
    }
    assert_string_equal(f->plan.note, "");
}

static void server_small_team_spreads_over_sockets(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, SERVER_2S), FZ_OK);
    schedule_plan(&f->topo, 4, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.groups, 2);
    assert_int_equal(pu_of(f, 0)->package, 0);
    assert_int_equal(pu_of(f, 2)->package, 1);
}

static void odd_thread_count_that_no_group_count_divides_uses_one_group(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, SERVER_2S), FZ_OK);
    schedule_plan(&f->topo, 3, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.groups, 1);
    assert_int_equal(pu_of(f, 1)->group, pu_of(f, 0)->group);   /* fits in one L3 */
}

static void more_threads_than_cores_use_siblings_with_a_note(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, SERVER_2S), FZ_OK);
    schedule_plan(&f->topo, 48, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.groups, 2);
    assert_true(f->plan.smt_siblings_used);
    assert_false(f->plan.oversubscribed);
    assert_non_null(strstr(f->plan.note, "SMT siblings"));
}

static void smt_on_uses_every_pu(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, SERVER_2S), FZ_OK);
    schedule_plan(&f->topo, 0, true, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.threads, 64);
    assert_int_equal(f->plan.groups, 2);
    assert_string_equal(f->plan.note, "");   /* asked for: no warning */
}

static void more_threads_than_pus_wrap_round_and_say_oversubscribed(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, SERVER_2S), FZ_OK);
    schedule_plan(&f->topo, 100, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.threads, 100);
    assert_true(f->plan.oversubscribed);
    assert_non_null(strstr(f->plan.note, "oversubscribed"));
}

static void thread_count_is_capped_with_a_note(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, SERVER_2S), FZ_OK);
    schedule_plan(&f->topo, FZ_MAX_THREADS + 5, false, &f->plan);
    assert_int_equal(f->plan.threads, FZ_MAX_THREADS);
    assert_non_null(strstr(f->plan.note, "the most"));
}

static void epyc_default_has_one_group_per_ccx(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, EPYC_8CCX), FZ_OK);
    schedule_plan(&f->topo, 0, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.threads, 64);
    assert_int_equal(f->plan.groups, 8);
    for (int t = 0; t < 64; t++)
        assert_int_equal(pu_of(f, t)->group, t / 8);
}

static void epyc_partial_teams_use_as_many_ccx_as_divide_evenly(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, EPYC_8CCX), FZ_OK);
    const int threads[] = { 2, 9, 12, 16 }, groups[] = { 2, 3, 6, 8 };
    for (int i = 0; i < 4; i++) {
        schedule_plan(&f->topo, threads[i], false, &f->plan);
        assert_plan_consistent(f);
        assert_int_equal(f->plan.groups, groups[i]);
    }
}

static void phone_default_uses_the_big_cores_only(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(&f->topo, TOPOLOGY_DIR "/phone-4big-4little.xml"), FZ_OK);
    schedule_plan(&f->topo, 0, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.threads, 4);
    assert_int_equal(f->plan.groups, 1);
    for (int t = 0; t < 4; t++)
        assert_int_equal(pu_of(f, t)->kind, 0);
}

static void phone_asked_for_more_adds_little_cores_after_big_ones(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(&f->topo, TOPOLOGY_DIR "/phone-4big-4little.xml"), FZ_OK);
    schedule_plan(&f->topo, 6, false, &f->plan);
    assert_plan_consistent(f);
    for (int t = 0; t < 6; t++)
        assert_int_equal(pu_of(f, t)->kind, t < 4 ? 0 : 1);
    assert_string_equal(f->plan.note, "");
}

static void server_with_turbo_favoured_cores_still_uses_every_core(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(&f->topo, TOPOLOGY_DIR "/favoured-cores-turbo3.xml"), FZ_OK);
    schedule_plan(&f->topo, 0, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.threads, 4);
}

static void phone_with_big_cores_masked_out_runs_on_the_little_ones(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(&f->topo, TOPOLOGY_DIR "/phone-little-cores-allowed.xml"),
                     FZ_OK);
    schedule_plan(&f->topo, 0, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.threads, 4);
    for (int t = 0; t < 4; t++)
        assert_true(f->plan.os_index[t] >= 4);
}

static void phone_blocking_fits_the_little_cores_and_has_no_l3(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(&f->topo, TOPOLOGY_DIR "/phone-4big-4little.xml"), FZ_OK);
    /* The NEON tile, 8×12: 32 KiB · 3/4 / (20 floats) = 307 -> 304; the little
     * cluster's 1 MiB L2 is shared by 4 cores: 256 KiB / 2 / (304·4) = 107 -> 104 (8·13);
     * no L3: NC = 4096 rounded down to 12 = 4092. */
    fz_blocking b = blocking_from_caches(topo_cache_sizes(&f->topo), 8, 12,
                                         sizeof(float));
    assert_int_equal(b.kc, 304);
    assert_int_equal(b.mc, 104);
    assert_int_equal(b.nc, 4092);
}

/* KC fixes the K summation order, so it must not depend on the thread count: the
 * blocking is a function of the caches and the tile alone, whatever the plan. */
static void server_blocking_comes_from_its_caches_alone(void **state)
{
    fixture *f = *state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(&f->topo, SERVER_2S), FZ_OK);
    fz_blocking b = blocking_from_caches(topo_cache_sizes(&f->topo), 6, 16,
                                         sizeof(float));
    assert_int_equal(b.kc, 416);   /* 48 KiB · 3/4 / (22 floats) = 418 -> 416 */
}

static void fallback_topology_plans_one_unbound_thread_per_cpu(void **state)
{
    fixture *f = *state;
    topo_fallback(&f->topo, "test");
    schedule_plan(&f->topo, 0, false, &f->plan);
    assert_plan_consistent(f);
    assert_int_equal(f->plan.threads, f->topo.n_pus);
    assert_int_equal(f->plan.groups, 1);
    for (int t = 0; t < f->plan.threads; t++)
        assert_int_equal(f->plan.os_index[t], -1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(server_default_is_one_thread_per_core_over_both_sockets),
        T(server_small_team_spreads_over_sockets),
        T(odd_thread_count_that_no_group_count_divides_uses_one_group),
        T(more_threads_than_cores_use_siblings_with_a_note),
        T(smt_on_uses_every_pu),
        T(more_threads_than_pus_wrap_round_and_say_oversubscribed),
        T(thread_count_is_capped_with_a_note),
        T(epyc_default_has_one_group_per_ccx),
        T(epyc_partial_teams_use_as_many_ccx_as_divide_evenly),
        T(phone_default_uses_the_big_cores_only),
        T(phone_asked_for_more_adds_little_cores_after_big_ones),
        T(server_with_turbo_favoured_cores_still_uses_every_core),
        T(phone_with_big_cores_masked_out_runs_on_the_little_ones),
        T(phone_blocking_fits_the_little_cores_and_has_no_l3),
        T(server_blocking_comes_from_its_caches_alone),
        T(fallback_topology_plans_one_unbound_thread_per_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
