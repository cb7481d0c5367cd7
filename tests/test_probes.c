/* The probes: the quick path measures every vector width the CPU has and reads the
 * widest as the peak; the triad's arrays are bounded; and an allocation failure at any
 * point of registration is one clear error, never a probe that runs on a NULL array
 * (the second or third triad array failing must not leave the first registered for a
 * repetition to write through the others).  Linked with the malloc wrappers of
 * alloc_fail.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alloc_fail.h"
#include "cpu.h"
#include "cpu_ident.h"   /* fzb_cpu_has_avx512f */
#include "freezebench.h"
#include "probes.h"

static int reset(void **state)
{
    (void)state;
    fzb_clear();
    alloc_fail_at(-1);
    return 0;
}

static bool ran(const fzb_results *r, const char *base)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->runs[i].base, base) == 0 && !r->runs[i].error)
            return true;
    return false;
}

static void quick_probes_measure_each_width_and_take_the_widest(void **state)
{
    (void)state;
    fzb_probe_options o = { .l3_bytes = (size_t)300 << 20, .repetitions = 2, .quick = true };
    fzb_probes *p = fzb_probes_register(&o);
    assert_non_null(p);
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    fzb_limits lim;
    assert_int_equal(fzb_probes_read(r, &lim), 0);
    assert_true(lim.peak_gflops_per_core > 0);
    assert_true(lim.bandwidth_gbytes_per_s > 0);
    assert_true(ran(r, FZB_PROBE_BANDWIDTH));
#if defined(__x86_64__)
    if (cpu_has_avx2_fma()) {
        assert_true(ran(r, FZB_PROBE_PEAK "avx2"));
        assert_true(lim.peak_avx2_gflops > 0);
    }
    if (fzb_cpu_has_avx512f()) {
        assert_true(ran(r, FZB_PROBE_PEAK "avx512"));
        assert_string_equal(lim.fma_isa, "avx512");
        assert_true(lim.peak_gflops_per_core == lim.peak_avx512_gflops);
    } else if (cpu_has_avx2_fma()) {
        assert_string_equal(lim.fma_isa, "avx2");
        assert_true(lim.peak_avx512_gflops == 0);
    }
#endif
    fzb_results_free(r);
    fzb_probes_free(p);
}

static void triad_arrays_are_bounded(void **state)
{
    (void)state;
    const size_t MiB = (size_t)1 << 20;
    /* A VM reporting a 508 MiB L3: 1 GiB in all, not 3 × 4 × 508 MiB. */
    assert_true(3 * fzb_probe_triad_array_bytes(508 * MiB, false) <= 1024 * MiB);
    assert_true(3 * fzb_probe_triad_array_bytes(32 * MiB, false) >= 4 * 32 * MiB);
    assert_true(3 * fzb_probe_triad_array_bytes(0, false) >= 192 * MiB - 64);
    assert_true(fzb_probe_triad_array_bytes(508 * MiB, true) <= 8 * MiB);
}

static void every_allocation_failure_is_a_clean_error(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        fzb_clear();
        fzb_probe_options o = { .l3_bytes = 0, .repetitions = 2, .quick = true };
        /* The failure stays armed through the run: arrays allocated lazily in the first
         * repetition (the fault) failed there and the next repetition crashed. */
        alloc_fail_at(n);
        fzb_probes *p = fzb_probes_register(&o);
        if (!p) {
            alloc_fail_at(-1);
            const char *msg = fz_last_error();
            if (!strstr(msg, "probe"))
                fail_msg("allocation %ld: message '%s' names no probe", n, msg);
            continue;
        }
        fzb_results *r = fzb_run_all(FZB_QUIET);
        bool failed = alloc_failed();
        alloc_fail_at(-1);
        if (!r) {   /* the failure hit the shim's own result list: reported, not a crash */
            assert_true(failed);
            fzb_probes_free(p);
            continue;
        }
        fzb_limits lim;
        if (fzb_probes_read(r, &lim) != 0)
            fail_msg("allocation %ld failed inside the run: a probe did not run", n);
        fzb_results_free(r);
        fzb_probes_free(p);
        if (!failed)
            break;   /* past the last allocation registration and run make */
        assert_true(n < 1000);
    }
}

static void out_of_memory_names_the_probe_and_the_size(void **state)
{
    (void)state;
    fzb_probe_options o = { .l3_bytes = 0, .repetitions = 1, .quick = true };
    alloc_fail_at(2);   /* the probes' own struct, the first array, then the second */
    fzb_probes *p = fzb_probes_register(&o);
    alloc_fail_at(-1);
    assert_null(p);
    assert_non_null(strstr(fz_last_error(), FZB_PROBE_BANDWIDTH));
    assert_non_null(strstr(fz_last_error(), "8.00 MiB"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(quick_probes_measure_each_width_and_take_the_widest, reset),
        cmocka_unit_test_setup(triad_arrays_are_bounded, reset),
        cmocka_unit_test_setup(every_allocation_failure_is_a_clean_error, reset),
        cmocka_unit_test_setup(out_of_memory_names_the_probe_and_the_size, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
