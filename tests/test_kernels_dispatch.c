/*
 * The dispatch: fz_isa() names the best kernel family the CPU can run, found here
 * independently of the library's own detection (GCC's __builtin_cpu_supports on x86-64,
 * the hwcaps on aarch64).  Natively on an AVX-512 (F/VL/BW/DQ) machine that is "avx512", on
 * an AVX2 one "avx2"; under `qemu-x86_64 -cpu Nehalem` it must be "scalar"; on aarch64
 * "neon".  FREEZEBENCH_ISA forces a path (the suite runs this test once more with it set
 * to scalar, and with it set to avx512 where the CPU runs that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"
#include "kernels.h"
#include "kernels_active.h"
#include "gemm.h"

#if defined(__aarch64__)
#include <sys/auxv.h>
#include <asm/hwcap.h>
#endif

/* Whether this CPU and this build run `isa`, judged without the library's cpu.c. */
static bool expected_to_run(const char *isa)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(isa, "avx2"))
        return FZ_TEST_BUILT_AVX2 && avx2;
    if (!strcmp(isa, "avx512"))
        return FZ_TEST_BUILT_AVX512 && avx2 && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq");
#elif defined(__aarch64__)
    if (!strcmp(isa, "neon"))
        return FZ_TEST_BUILT_NEON && (getauxval(AT_HWCAP) & HWCAP_ASIMD);
#endif
    return !strcmp(isa, "scalar");
}

/* The best of them: the last one that runs, in the order the dispatch upgrades. */
static const char *expected_best(void)
{
    const char *order[] = { "avx512", "avx2", "neon" };
    for (int i = 0; i < 3; i++)
        if (expected_to_run(order[i]))
            return order[i];
    return "scalar";
}

static void isa_is_what_the_cpu_supports(void **state)
{
    (void)state;
    const char *forced = getenv("FREEZEBENCH_ISA");
    if (forced && *forced && !expected_to_run(forced)) {
        print_message("  FREEZEBENCH_ISA=%s: not in this build or not on this CPU: "
                      "skipped\n", forced);
        skip();
    }
    const char *want = forced && *forced ? forced : expected_best();
    print_message("  fz_isa() = %s, expected %s\n", fz_isa(), want);
    assert_string_equal(fz_isa(), want);
    assert_int_equal(fz_isa_status(), FZ_OK);
    assert_string_equal(kernels_get()->isa, want);
}

static void tables_exist_exactly_where_the_cpu_runs_them(void **state)
{
    (void)state;
    assert_non_null(kernels_for("scalar"));
    assert_ptr_equal(kernels_for("scalar"), kernels_scalar());
    assert_null(sgemm_kernel_for("scalar"));   /* the reference has no microkernel */
    const char *isas[] = { "avx2", "avx512", "neon" };
    for (int i = 0; i < 3; i++) {
        bool runs = expected_to_run(isas[i]);
        print_message("  %s: %s\n", isas[i], runs ? "runs here" : "not here");
        assert_int_equal(kernels_for(isas[i]) != NULL, runs);
        assert_int_equal(sgemm_kernel_for(isas[i]) != NULL, runs);
        if (runs)
            assert_string_equal(kernels_for(isas[i])->isa, isas[i]);
    }
    assert_null(kernels_for("sse9"));
    assert_null(kernels_for(NULL));
}

/* Every table is complete: a missing entry would crash whoever calls it. */
static void tables_have_every_kernel(void **state)
{
    (void)state;
    const char *isas[] = { "scalar", "avx2", "avx512", "neon" };
    for (int i = 0; i < 4; i++) {
        const fz_kernels *k = kernels_for(isas[i]);
        if (!k)
            continue;
        assert_non_null(k->sgemm_ctx);
        assert_int_equal(k->microkernel != NULL, strcmp(isas[i], "scalar") != 0);
        assert_non_null(k->relu_fwd);
        assert_non_null(k->relu_bwd);
        assert_non_null(k->colsum);
        assert_non_null(k->sgd);
        assert_non_null(k->copy_aside);
        assert_non_null(k->abs_max);
        assert_non_null(k->sgd_plain);
    }
}

/* The table is a function of the flags mask alone, whatever this CPU has: each ISA
 * needs its own flag and every flag below it. */
static void flags_mask_decides_the_table(void **state)
{
    (void)state;
    const struct { unsigned flags; const char *isa; bool built; } cases[] = {
        { 0, "scalar", true },
        { FZ_CPU_AVX512, "scalar", true },   /* AVX-512's files need AVX2 too */
        { FZ_CPU_AVX2, "avx2", FZ_TEST_BUILT_AVX2 },
        { FZ_CPU_AVX2 | FZ_CPU_AVX512, "avx512", FZ_TEST_BUILT_AVX512 },
        { FZ_CPU_NEON, "neon", FZ_TEST_BUILT_NEON },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fz_kernels t = kernels_init_for_flags(cases[i].flags);
        if (cases[i].built)
            assert_string_equal(t.isa, cases[i].isa);
        else   /* not in this build: the table stays below it */
            assert_string_not_equal(t.isa, cases[i].isa);
        assert_true(t.sgemm_ctx && t.copy_aside && t.relu_fwd && t.relu_bwd && t.colsum && t.sgd &&
                    t.abs_max);
    }
    /* With this CPU's own flags it is the default table (AVX-512 is default where it runs). */
    assert_string_equal(kernels_init_for_flags(cpu_flags()).isa,
                        kernels_best()->isa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flags_mask_decides_the_table),
        cmocka_unit_test(isa_is_what_the_cpu_supports),
        cmocka_unit_test(tables_exist_exactly_where_the_cpu_runs_them),
        cmocka_unit_test(tables_have_every_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
