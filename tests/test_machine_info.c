/* The machine columns: file-name slugs of CPU models, and the facts read from Linux. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"
#include "machine_info.h"

static void slug_keeps_letters_and_digits_joined_by_single_dashes(void **state)
{
    (void)state;
    char out[64];
    fzb_slug("AMD EPYC 7B13 64-Core Processor", out, sizeof out);
    assert_string_equal(out, "amd-epyc-7b13-64-core-processor");
    fzb_slug("  Intel(R) Xeon(R)  CPU @ 2.20GHz ", out, sizeof out);
    assert_string_equal(out, "intel-r-xeon-r-cpu-2-20ghz");
    fzb_slug("---", out, sizeof out);
    assert_string_equal(out, "");
}

static void slug_truncates_to_the_buffer(void **state)
{
    (void)state;
    char out[8];
    fzb_slug("Neoverse-N1 r3p1", out, sizeof out);
    assert_true(strlen(out) < sizeof out);
    assert_string_equal(out, "neovers");
}

static void machine_facts_are_filled(void **state)
{
    (void)state;
    fzb_machine_info m;
    fzb_machine_info_get(&m);
    assert_true(m.cores >= 1);
    assert_true(m.arch[0] != '\0');
    assert_true(m.cpu_model[0] != '\0');
    assert_true(m.host[0] != '\0');
    assert_true(m.compiler[0] != '\0');
    assert_true(m.git_revision[0] != '\0');
    assert_null(strchr(m.cpu_model, '\n'));
}

/* The CSV's cores are the team's cores: "all cores" in a sweep is what fz_machine counts,
 * never the logical CPUs (which double-count SMT siblings). */
static void machine_cores_are_the_topology_cores(void **state)
{
    (void)state;
    fzb_machine_info m;
    fzb_machine_info_get(&m);
    fz_machine topo;
    assert_int_equal(fz_machine_get(&topo), FZ_OK);
    assert_int_equal(m.cores, topo.cores);
    assert_true(m.cores <= topo.pus);
    if (topo.l2)
        assert_int_equal(m.l2_bytes, topo.l2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slug_keeps_letters_and_digits_joined_by_single_dashes),
        cmocka_unit_test(slug_truncates_to_the_buffer),
        cmocka_unit_test(machine_facts_are_filled),
        cmocka_unit_test(machine_cores_are_the_topology_cores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
