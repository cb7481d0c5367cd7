/* The machine columns: file-name slugs of CPU models, and the facts read from Linux. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A tree of files under a temporary sysfs root, as FREEZEBENCH_SYSFS_ROOT reads it. */
static void make_file(const char *root, const char *rel, const char *text)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s/%s')\" && printf '%s' > '%s/%s'",
             root, rel, text, root, rel);
    assert_int_equal(system(cmd), 0);
}

static void sysfs_root_is_honoured(void **state)
{
    (void)state;
    char root[] = "/tmp/fzb_sysfsXXXXXX";
    assert_non_null(mkdtemp(root));
    make_file(root, "devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n");
    setenv("FREEZEBENCH_SYSFS_ROOT", root, 1);
    fzb_machine_info m;
    fzb_machine_info_get(&m);
    unsetenv("FREEZEBENCH_SYSFS_ROOT");
    assert_string_equal(m.governor, "performance");
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* Some VMs have no /sys/devices/system/cpu/cpu0/cache: the sizes must still be known
 * (hwloc, else CPUID), and say where they came from. */
static void caches_are_known_without_sysfs(void **state)
{
    (void)state;
#if defined(__x86_64__)
    setenv("FREEZEBENCH_SYSFS_ROOT", "/nonexistent-sysfs", 1);
    fzb_machine_info m;
    fzb_machine_info_get(&m);
    unsetenv("FREEZEBENCH_SYSFS_ROOT");
    assert_true(m.l1d_bytes > 0 && m.l2_bytes > 0);
    assert_string_not_equal(m.cache_source, "sysfs");
    assert_string_not_equal(m.cache_source, "unknown");
#else
    skip();   /* CPUID's cache leaves are x86's; elsewhere only hwloc and sysfs know */
#endif
}

static void system_id_is_a_slug_naming_the_kernel_isa(void **state)
{
    (void)state;
    fzb_machine_info m;
    fzb_machine_info_get(&m);
    assert_true(m.system_id[0] != '\0');
    for (const char *c = m.system_id; *c; c++)
        assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-');
    size_t n = strlen(m.system_id), k = strlen(fz_isa());
    assert_true(n > k && strcmp(m.system_id + n - k, fz_isa()) == 0);
    assert_int_equal(strncmp(m.system_id, m.cpu_vendor, strlen(m.cpu_vendor)), 0);
}

static void json_carries_the_schema_and_the_description(void **state)
{
    (void)state;
    fzb_machine_info m;
    fzb_machine_info_get(&m);
    snprintf(m.cpu_model, sizeof m.cpu_model, "a \"quoted\" \\ name");
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    fzb_machine_info_json(&m, f);
    fclose(f);
    assert_non_null(strstr(text, "\"columns\": [\"schema_version\", \"utc_time\", "
                                 "\"system_id\""));
    assert_non_null(strstr(text, "\"cpu_model\": \"a \\\"quoted\\\" \\\\ name\""));
    char want[160];
    snprintf(want, sizeof want, "\"system_id\": \"%s\"", m.system_id);
    assert_non_null(strstr(text, want));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slug_keeps_letters_and_digits_joined_by_single_dashes),
        cmocka_unit_test(slug_truncates_to_the_buffer),
        cmocka_unit_test(machine_facts_are_filled),
        cmocka_unit_test(machine_cores_are_the_topology_cores),
        cmocka_unit_test(sysfs_root_is_honoured),
        cmocka_unit_test(caches_are_known_without_sysfs),
        cmocka_unit_test(system_id_is_a_slug_naming_the_kernel_isa),
        cmocka_unit_test(json_carries_the_schema_and_the_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
