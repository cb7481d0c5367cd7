/* bench/machine's reading of this CPU against libcpuinfo's (Debian's libcpuinfo-dev, the
 * library PyTorch uses), where it is installed: the CPUID signature, the cache sizes
 * from CPUID's cache leaves, AVX-512F with the OS's consent, and the microarchitecture
 * name wherever libcpuinfo has one.  Its 2022 tables have none for Zen 4, Zen 5 or
 * Sapphire/Emerald Rapids (DESIGN.md, "Hand-written parts"); there the test says so and
 * checks the rest.  Without the library, or off x86, it exits 77: meson shows SKIP.
 *
 * Built with bench/machine's folder alone on the include path: src/runtime has a
 * cpuinfo.h of its own, which would shadow <cpuinfo.h>. */
#define _GNU_SOURCE   /* sched_getcpu, CPU_SET */
#include <stdio.h>

#if defined(FZB_HAVE_LIBCPUINFO) && (defined(__x86_64__) || defined(__i386__))
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <cpuinfo.h>

#include "cpu_ident.h"
#include "uarch.h"

/* The logical processor this thread runs on, and the thread pinned to it, so both
 * readings are of one core (a hybrid CPU's cores differ in caches and uarch). */
static const struct cpuinfo_processor *pin_to_this_processor(void)
{
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu < 0 || cpu >= CPU_SETSIZE)
        return NULL;
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return NULL;
    for (uint32_t i = 0; i < cpuinfo_get_processors_count(); i++) {
        const struct cpuinfo_processor *p = cpuinfo_get_processor(i);
        if (p->linux_id == cpu && p->core)
            return p;
    }
    return NULL;
}

static void signature_is_the_same(void **state)
{
    const struct cpuinfo_core *core = ((const struct cpuinfo_processor *)*state)->core;
    fzb_cpu_ident id;
    fzb_cpu_ident_get(&id);
    unsigned family, model, stepping;
    cpu_x86_signature(core->cpuid, &family, &model, &stepping);
    print_message("CPUID 1.EAX 0x%08x: family %u model %u stepping %u\n",
                  (unsigned)core->cpuid, family, model, stepping);
    assert_int_equal(id.family, family);
    assert_int_equal(id.model, model);
    assert_int_equal(id.stepping, stepping);
}

/* Both decode CPUID's deterministic cache leaves; a level either leaves empty is not
 * compared (libcpuinfo also reads leaf 2's descriptors, bench/machine does not). */
static void cache_sizes_are_the_same(void **state)
{
    const struct cpuinfo_processor *p = *state;
    fzb_cpu_ident id;
    fzb_cpu_ident_get(&id);
    struct { const char *level; size_t ours; const struct cpuinfo_cache *theirs; } c[] = {
        { "L1d", id.l1d, p->cache.l1d }, { "L2", id.l2, p->cache.l2 },
        { "L3", id.l3, p->cache.l3 },
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        size_t theirs = c[i].theirs ? c[i].theirs->size : 0;
        print_message("%s: bench/machine %zu bytes, libcpuinfo %zu\n", c[i].level,
                      c[i].ours, theirs);
        if (c[i].ours && theirs)
            assert_int_equal(c[i].ours, theirs);
    }
}

static void avx512f_is_the_same(void **state)
{
    (void)state;
    assert_int_equal(fzb_cpu_has_avx512f(), cpuinfo_has_x86_avx512f());
}

/* libcpuinfo's names, and the names of bench/machine's table that each covers (its
 * sky_lake is every 14 nm Skylake derivative, Cascade and Cooper Lake included). */
static const struct { enum cpuinfo_uarch uarch; const char *ours[7]; } names[] = {
    { cpuinfo_uarch_zen, { "Zen" } },
    { cpuinfo_uarch_zen2, { "Zen 2" } },
    { cpuinfo_uarch_zen3, { "Zen 3", "Zen 3+" } },
    { cpuinfo_uarch_dhyana, { "Dhyana" } },
    { cpuinfo_uarch_haswell, { "Haswell" } },
    { cpuinfo_uarch_broadwell, { "Broadwell" } },
    { cpuinfo_uarch_sky_lake, { "Skylake", "Skylake-SP", "Cascade Lake", "Cooper Lake",
                                "Kaby Lake", "Coffee Lake" } },
    { cpuinfo_uarch_sunny_cove, { "Ice Lake", "Ice Lake-SP", "Ice Lake-D" } },
};

static void uarch_names_agree_where_both_have_one(void **state)
{
    enum cpuinfo_uarch u = ((const struct cpuinfo_processor *)*state)->core->uarch;
    fzb_cpu_ident id;
    fzb_cpu_ident_get(&id);
    if (u == cpuinfo_uarch_unknown) {
        print_message("libcpuinfo has no name for this CPU; bench/machine: \"%s\"\n",
                      id.uarch);
        return;
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (names[i].uarch != u)
            continue;
        for (size_t k = 0; k < 7 && names[i].ours[k]; k++)
            if (!strcmp(id.uarch, names[i].ours[k]))
                return;
        fail_msg("libcpuinfo says uarch 0x%08x (\"%s\" and the like), bench/machine \"%s\"",
                 (unsigned)u, names[i].ours[0], id.uarch);
    }
    print_message("libcpuinfo's uarch 0x%08x is not in this test's list; bench/machine: "
                  "\"%s\"\n", (unsigned)u, id.uarch);
}

int main(void)
{
    if (!cpuinfo_initialize()) {
        printf("libcpuinfo cannot read this machine: cross-check skipped\n");
        return 77;
    }
    void *p = (void *)pin_to_this_processor();
    if (!p) {
        printf("cannot pin to a processor libcpuinfo lists: cross-check skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(signature_is_the_same, p),
        cmocka_unit_test_prestate(cache_sizes_are_the_same, p),
        cmocka_unit_test_prestate(avx512f_is_the_same, p),
        cmocka_unit_test_prestate(uarch_names_agree_where_both_have_one, p),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
#if defined(FZB_HAVE_LIBCPUINFO)
    printf("not x86: the cross-check with libcpuinfo is x86's only; skipped\n");
#else
    printf("libcpuinfo-dev not installed: the cross-check with it is skipped\n");
#endif
    return 77;
}
#endif
