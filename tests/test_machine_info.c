/* The machine columns: file-name slugs of CPU models, and the facts read from Linux. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "freezebench.h"
#include "machine_info.h"
#include "results.h"   /* fzb_machine_info_json */

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

static void remove_tree(const char *root)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* A FIFO in the sysfs tree (issue 24, item 9) blocked every freeze_sweep forever in
 * open(): only regular files are read, without blocking.  alarm() ends a hang as a
 * failure instead of a test that never returns. */
static void fifos_in_sysfs_do_not_block(void **state)
{
    (void)state;
    char root[] = "/tmp/fzb_sysfsXXXXXX";
    assert_non_null(mkdtemp(root));
    make_file(root, "devices/system/cpu/cpu0/cache/index0/level", "1\n");
    make_file(root, "devices/system/cpu/cpu0/cache/index0/type", "Data\n");
    make_file(root, "devices/system/cpu/cpu0/cpufreq/.keep", "");
    char path[256];
    snprintf(path, sizeof path, "%s/devices/system/cpu/cpu0/cpufreq/scaling_governor", root);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof path, "%s/devices/system/cpu/cpu0/cache/index0/size", root);
    assert_int_equal(mkfifo(path, 0600), 0);
    setenv("FREEZEBENCH_SYSFS_ROOT", root, 1);
    alarm(30);
    fzb_machine_info m;
    fzb_machine_info_get(&m);
    size_t l1d, l2, l3;
    fzb_machine_sysfs_caches(&l1d, &l2, &l3);
    alarm(0);
    unsetenv("FREEZEBENCH_SYSFS_ROOT");
    assert_string_equal(m.governor, "unknown");
    assert_int_equal(l1d, 0);
    remove_tree(root);
}

/* Cache sizes that are not sizes (issue 24, item 17): "99999999999999999999999M" wrapped
 * around to 18446744073708503040; such a value, text after the number, or a size no
 * cache has reads as unknown (0).  Real ones still read. */
static void hostile_cache_sizes_read_as_unknown(void **state)
{
    (void)state;
    static const struct { const char *size; size_t want; } cases[] = {
        { "48K\n", 48 << 10 },
        { "2048K\n", 2048 << 10 },
        { "32M\n", (size_t)32 << 20 },
        { "99999999999999999999999M\n", 0 },
        { "99999999999999999999999\n", 0 },
        { "18446744073709551615K\n", 0 },
        { "17592186044416M\n", 0 },     /* 2^44 MiB: wraps a 64-bit shift exactly to 0 */
        { "4398046511104K\n", 0 },      /* 4 PiB */
        { "+1K\n", 0 },
        { "32KB\n", 0 },
        { "K\n", 0 },
        { "\n", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char root[] = "/tmp/fzb_sysfsXXXXXX";
        assert_non_null(mkdtemp(root));
        make_file(root, "devices/system/cpu/cpu0/cache/index0/level", "2\n");
        make_file(root, "devices/system/cpu/cpu0/cache/index0/type", "Unified\n");
        make_file(root, "devices/system/cpu/cpu0/cache/index0/size", cases[i].size);
        setenv("FREEZEBENCH_SYSFS_ROOT", root, 1);
        size_t l1d, l2, l3;
        fzb_machine_sysfs_caches(&l1d, &l2, &l3);
        unsetenv("FREEZEBENCH_SYSFS_ROOT");
        remove_tree(root);
        if (l2 != cases[i].want)
            fail_msg("size '%s' read as %zu, want %zu", cases[i].size, l2, cases[i].want);
    }
}

/* A whole, well-formed UTF-8 text (an independent check, not machine_info.c's). */
static bool valid_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
            return false;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

/* A governor holding byte 0xff and control characters (issue 24, item 17) made
 * --machine print invalid UTF-8 JSON and went into the CSV as it came: it is cleaned
 * when read, and the JSON writer replaces any byte that is not UTF-8 anyway. */
static void non_utf8_sysfs_text_is_cleaned_and_json_stays_utf8(void **state)
{
    (void)state;
    char root[] = "/tmp/fzb_sysfsXXXXXX";
    assert_non_null(mkdtemp(root));
    make_file(root, "devices/system/cpu/cpu0/cpufreq/scaling_governor",
              "perf\\377\\001or\\302\\205m\\303\\251\\n");
    setenv("FREEZEBENCH_SYSFS_ROOT", root, 1);
    fzb_machine_info m;
    fzb_machine_info_get(&m);
    unsetenv("FREEZEBENCH_SYSFS_ROOT");
    remove_tree(root);
    /* 0xff and 0x01 are no text, U+0085 is a C1 control; é stays. */
    assert_string_equal(m.governor, "perf??or??m\xc3\xa9");
    /* A field nobody cleaned: the JSON still holds only UTF-8, the bad bytes as U+FFFD. */
    snprintf(m.cpu_model, sizeof m.cpu_model, "a\xff\xc3(b\xed\xa0\x80\x7f");
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    fzb_machine_info_json(&m, f);
    fclose(f);
    assert_true(valid_utf8((const unsigned char *)text, size));
    assert_non_null(strstr(text, "\"governor\": \"perf??or??m\xc3\xa9\""));
    assert_non_null(strstr(text, "\"cpu_model\": \"a\\ufffd\\ufffd(b\\ufffd\\ufffd\\ufffd"
                                 "\\u007f\""));
    free(text);
    /* The cleaner alone. */
    char s[] = "ok \xe2\x82\xac \xe2\x82 \xf0\x9f\x98\x80 \xc0\xaf\t";
    fzb_text_clean(s);
    assert_string_equal(s, "ok \xe2\x82\xac ?? \xf0\x9f\x98\x80 ???");
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
        cmocka_unit_test(fifos_in_sysfs_do_not_block),
        cmocka_unit_test(hostile_cache_sizes_read_as_unknown),
        cmocka_unit_test(non_utf8_sysfs_text_is_cleaned_and_json_stays_utf8),
        cmocka_unit_test(system_id_is_a_slug_naming_the_kernel_isa),
        cmocka_unit_test(json_carries_the_schema_and_the_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
