/* Topology discovery: what hwloc synthetic topologies and XML files flatten into. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"
#include "topology.h"
#include "topologies.h"

static fz_topo *topo;

static int setup(void **state)
{
    (void)state;
    topo = calloc(1, sizeof *topo);
    return topo ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(topo);
    return 0;
}

#ifdef FZ_HAVE_HWLOC
#define NEED_HWLOC()
#else
#define NEED_HWLOC() skip()
#endif

static void server_counts_packages_groups_cores_and_smt_siblings(void **state)
{
    (void)state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(topo, SERVER_2S), FZ_OK);
    assert_int_equal(topo->n_packages, 2);
    assert_int_equal(topo->n_numa, 2);
    assert_int_equal(topo->n_groups, 2);
    assert_true(topo->has_l3);
    assert_int_equal(topo->n_cores, 32);
    assert_int_equal(topo->n_pus, 64);
    assert_int_equal(topo->n_kinds, 1);
    int siblings = 0;
    for (int p = 0; p < topo->n_pus; p++) {
        siblings += topo->pu[p].smt_rank == 1;
        assert_int_equal(topo->pu[p].group, topo->pu[p].package);
        assert_int_equal(topo->pu[p].numa, topo->pu[p].package);
    }
    assert_int_equal(siblings, 32);
}

static void cache_sizes_come_from_the_topology(void **state)
{
    (void)state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(topo, SERVER_2S), FZ_OK);
    assert_int_equal(topo->l1d, 48 << 10);
    assert_int_equal(topo->l2, 1 << 20);
    assert_int_equal(topo->l2_per_core, 1 << 20);   /* private L2 */
    assert_int_equal(topo->l3, 32 << 20);
}

static void epyc_has_eight_l3_groups_of_eight_cores(void **state)
{
    (void)state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(topo, EPYC_8CCX), FZ_OK);
    assert_int_equal(topo->n_packages, 1);
    assert_int_equal(topo->n_groups, 8);
    assert_int_equal(topo->n_cores, 64);
    int cores_in[8] = {0};
    for (int p = 0; p < topo->n_pus; p++)
        cores_in[topo->pu[p].group] += topo->pu[p].smt_rank == 0;
    for (int g = 0; g < 8; g++)
        assert_int_equal(cores_in[g], 8);
}

static void xml_files_load_like_their_synthetic_descriptions(void **state)
{
    (void)state;
    NEED_HWLOC();
    const char *synthetic[] = { SERVER_2S, EPYC_8CCX };
    const char *xml[] = { TOPOLOGY_DIR "/server-2s-16c-smt.xml", TOPOLOGY_DIR "/epyc-64c-8ccx.xml" };
    fz_topo *syn = calloc(1, sizeof *syn);
    assert_non_null(syn);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(topo_load_synthetic(syn, synthetic[i]), FZ_OK);
        assert_int_equal(topo_load_xml(topo, xml[i]), FZ_OK);
        assert_int_equal(topo->n_pus, syn->n_pus);
        assert_int_equal(topo->n_groups, syn->n_groups);
        assert_int_equal(topo->n_numa, syn->n_numa);
        assert_int_equal(topo->l3, syn->l3);
        assert_memory_equal(topo->pu, syn->pu, (size_t)syn->n_pus * sizeof *syn->pu);
    }
    free(syn);
}

static void big_little_phone_ranks_big_cores_first_from_cpukinds(void **state)
{
    (void)state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(topo, TOPOLOGY_DIR "/phone-4big-4little.xml"), FZ_OK);
    assert_int_equal(topo->n_kinds, 2);
    assert_false(topo->has_l3);
    assert_int_equal(topo->n_groups, 1);   /* no L3: the package is the group */
    for (int p = 0; p < 8; p++)
        assert_int_equal(topo->pu[p].kind, topo->pu[p].os_index < 4 ? 0 : 1);
    /* The blocking must fit every core: the smaller (little) caches. */
    assert_int_equal(topo->l1d, 32 << 10);
    assert_int_equal(topo->l2, 1 << 20);
    assert_int_equal(topo->l2_per_core, 256 << 10);   /* 1 MiB shared by 4 little cores */
    assert_int_equal(topo->l3, 0);
}

static void big_little_without_cpukinds_ranks_by_private_cache_size(void **state)
{
    (void)state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(topo, TOPOLOGY_DIR "/phone-4big-4little-nokinds.xml"),
                     FZ_OK);
    assert_int_equal(topo->n_kinds, 2);
    for (int p = 0; p < 8; p++)
        assert_int_equal(topo->pu[p].kind, topo->pu[p].os_index < 4 ? 0 : 1);
}

static void cores_differing_only_in_turbo_frequency_are_one_kind(void **state)
{
    (void)state;
    NEED_HWLOC();
    /* hwloc makes two kinds of 4300 and 4500 MHz (Turbo Boost Max 3.0 favoured cores). */
    assert_int_equal(topo_load_xml(topo, TOPOLOGY_DIR "/favoured-cores-turbo3.xml"), FZ_OK);
    assert_int_equal(topo->n_pus, 4);
    assert_int_equal(topo->n_kinds, 1);
    for (int p = 0; p < 4; p++)
        assert_int_equal(topo->pu[p].kind, 0);
}

static void with_only_little_cores_allowed_they_are_the_best_kind(void **state)
{
    (void)state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(topo, TOPOLOGY_DIR "/phone-little-cores-allowed.xml"),
                     FZ_OK);
    assert_int_equal(topo->n_pus, 4);
    assert_int_equal(topo->n_kinds, 1);
    for (int p = 0; p < 4; p++) {
        assert_true(topo->pu[p].os_index >= 4);
        assert_int_equal(topo->pu[p].kind, 0);
    }
}

static void malformed_synthetic_description_is_einval(void **state)
{
    (void)state;
    NEED_HWLOC();
    assert_int_equal(topo_load_synthetic(topo, "pack:2 bogus:7"), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "bogus:7"));
}

static void missing_xml_file_is_eio(void **state)
{
    (void)state;
    NEED_HWLOC();
    assert_int_equal(topo_load_xml(topo, TOPOLOGY_DIR "/no-such-machine.xml"), FZ_EIO);
    assert_non_null(strstr(fz_last_error(), "no-such-machine.xml"));
}

static void fallback_has_one_core_per_allowed_cpu_and_says_why(void **state)
{
    (void)state;
    topo_fallback(topo, "hwloc failed: test");
    assert_true(topo->fallback);
    assert_true(topo->n_pus >= 1);
    assert_int_equal(topo->n_cores, topo->n_pus);
    assert_int_equal(topo->n_groups, 1);
    for (int p = 0; p < topo->n_pus; p++) {
        assert_int_equal(topo->pu[p].os_index, -1);   /* nothing to bind to */
        assert_int_equal(topo->pu[p].smt_rank, 0);
    }
    assert_string_equal(topo->source, "hwloc failed: test");
    assert_true(topo->cpu_model[0] != '\0');
    assert_true(topo->arch[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(server_counts_packages_groups_cores_and_smt_siblings),
        cmocka_unit_test(cache_sizes_come_from_the_topology),
        cmocka_unit_test(epyc_has_eight_l3_groups_of_eight_cores),
        cmocka_unit_test(xml_files_load_like_their_synthetic_descriptions),
        cmocka_unit_test(big_little_phone_ranks_big_cores_first_from_cpukinds),
        cmocka_unit_test(big_little_without_cpukinds_ranks_by_private_cache_size),
        cmocka_unit_test(cores_differing_only_in_turbo_frequency_are_one_kind),
        cmocka_unit_test(with_only_little_cores_allowed_they_are_the_best_kind),
        cmocka_unit_test(malformed_synthetic_description_is_einval),
        cmocka_unit_test(missing_xml_file_is_eio),
        cmocka_unit_test(fallback_has_one_core_per_allowed_cpu_and_says_why),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
