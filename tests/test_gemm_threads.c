/*
 * The threaded GEMM: the team splits N among its groups and M among a group's threads
 * (or, where the cost model says so, N among all of them), but never K, so C is
 * bitwise the same for any thread count; every thread counts the FLOPs it ran into its
 * own slot, and the slots add up to exactly 2·m·n·k plus the epilogue.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "align.h"
#include "core_testutil.h"
#include "exec.h"
#include "freezebench.h"
#include "kernels.h"
#include "kernels_active.h"
#include "gemm.h"
#include "team.h"

/* Several MC and KC blocks, edge tiles in both directions, and well above the size at
 * which the GEMM starts a team. */
#define M 301
#define N 83
#define K 517

/* The runtime's table, or a visible skip where it has no blocked GEMM (the scalar
 * reference): `what` says which part of the test needs one. */
static const fz_kernels *runtime_gemm_or_skip(const char *what)
{
    const fz_kernels *k = kernels_get();
    if (!k->microkernel) {
        print_message("  %s has no blocked GEMM%s%s: skipped\n", k->isa, *what ? " " : "",
                      what);
        skip();
    }
    return k;
}

static void sgemm_is_bitwise_identical_for_1_2_3_threads(void **state)
{
    (void)state;
    float *a = random_floats(M * K, 1), *b = random_floats(N * K, 2);
    assert_true(a && b);
    for (int l = 0; l < 3; l++) {
        fz_trans ta = training_layout_of(l).ta, tb = training_layout_of(l).tb;
        size_t lda = ta == FZ_NOTRANS ? K : M, ldb = tb == FZ_NOTRANS ? N : K;
        float *c[3];
        for (int t = 0; t < 3; t++) {
            c[t] = random_floats(M * N, 3);
            assert_non_null(c[t]);
            fz_set_threads(t + 1);
            assert_int_equal(fz_get_threads(), t + 1);
            fz_sgemm(ta, tb, M, N, K, 0.75f, a, lda, b, ldb, -0.5f, c[t], N);
        }
        assert_memory_equal(c[0], c[1], M * N * sizeof(float));
        assert_memory_equal(c[0], c[2], M * N * sizeof(float));
        for (int t = 0; t < 3; t++)
            free(c[t]);
    }
    fz_set_threads(0);
    free(a);
    free(b);
}

/* The layout the hwloc topology may choose — L3 groups splitting N, several NC rounds
 * per group, other MC — changes who computes what, never the result.  (KC stays: it
 * sets where partial sums round into C.)  The plan is handed to the GEMM directly, as
 * the runtime hands it, with L2 and L3 sizes that give the wanted MC and NC. */
static void sgemm_is_bitwise_identical_across_groups_and_blocking(void **state)
{
    (void)state;
    const fz_kernels *k = runtime_gemm_or_skip("");
    float *a = random_floats(M * K, 8), *b = random_floats(K * N, 9);
    float *ref = random_floats(M * N, 10), *c = malloc(M * N * sizeof(float));
    assert_true(a && b && ref && c);
    fz_gemm_op op = { .m = M, .n = N, .k = K, .alpha = 1.0f, .a = a, .lda = K, .b = b,
                      .ldb = N, .c = ref, .ldc = N };
    fz_gemm_ctx one = team_gemm_ctx();
    one.threads = one.groups = 1;
    k->sgemm_ctx(&op, &one, NULL);
    size_t kc = sgemm_blocking(k->microkernel, &one).kc;

    /* MC at most 4·NR for every kernel (NR 12 on NEON): the L2 that gives such an MC is
     * too small for the product to deepen its K blocks (blocking.h), so KC, and with it
     * the order of every sum, stays that of the reference. */
    const struct { int threads, groups; size_t mc, nc; } layouts[] = {
        { 2, 2, 0, 0 }, { 3, 3, 0, 0 }, { 4, 2, 0, 0 }, { 6, 3, 0, 0 },
        { 3, 1, 48, 32 }, { 4, 2, 24, 16 }, { 6, 2, 40, 48 },
    };
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
        fz_gemm_ctx ctx = one;
        ctx.threads = layouts[i].threads;
        ctx.groups = layouts[i].groups;
        if (layouts[i].mc) {   /* MC = L2 / 2 / (KC · 4 bytes), NC likewise from L3 */
            ctx.caches.l2 = 2 * sizeof(float) * kc * layouts[i].mc;
            ctx.caches.l3 = 2 * sizeof(float) * kc * layouts[i].nc;
        }
        fz_blocking blk = sgemm_blocking(k->microkernel, &ctx);
        assert_int_equal(blk.kc, kc);
        assert_int_equal(sgemm_blocking_for(k->microkernel, &ctx, M, N).kc, kc);
        for (size_t x = 0; x < M * N; x++)
            c[x] = NAN;   /* beta 0: never read */
        op.c = c;
        k->sgemm_ctx(&op, &ctx, NULL);
        if (memcmp(c, ref, M * N * sizeof(float)))
            fail_msg("layout %zu (threads %d, groups %d, mc %zu, nc %zu) differs", i,
                     layouts[i].threads, layouts[i].groups, blk.mc, blk.nc);
    }
    free(a);
    free(b);
    free(c);
    free(ref);
}

/* Where the cost model hands each thread its own columns (N split, every thread packing
 * all of A and its own B, no barrier) rather than its own rows of a shared B, the
 * result is still that of one thread.  The shape is one the model splits by N on two
 * threads for every microkernel (checked first, so the test cannot pass by taking the
 * other path), in all three training layouts, on 1 to 4 threads of the real team. */
static void sgemm_split_by_columns_is_bitwise_identical(void **state)
{
    (void)state;
    const fz_kernels *k = runtime_gemm_or_skip("");
    enum { SM = 64, SN = 512, SK = 128 };
    fz_gemm_op probe = { .ta = FZ_NOTRANS, .tb = FZ_TRANS, .m = SM, .n = SN, .k = SK };
    assert_int_equal(sgemm_split_groups(k->microkernel, &probe, 2, 1, true, true), 2);
    assert_int_equal(sgemm_split_groups(k->microkernel, &probe, 1, 1, true, true), 1);

    float *a = random_floats(SM * SK, 21), *b = random_floats(SN * SK, 22);
    float *bias = random_floats(SN, 23);
    assert_true(a && b && bias);
    for (int l = 0; l < 3; l++) {
        fz_trans ta = training_layout_of(l).ta, tb = training_layout_of(l).tb;
        fz_gemm_op op = { .ta = ta, .tb = tb, .m = SM, .n = SN, .k = SK, .alpha = 1.0f,
                          .a = a, .lda = ta == FZ_NOTRANS ? SK : SM, .b = b,
                          .ldb = tb == FZ_NOTRANS ? SN : SK, .ldc = SN, .bias = bias,
                          .relu = true };
        float *c[4];
        for (int t = 0; t < 4; t++) {
            c[t] = malloc(SM * SN * sizeof(float));
            assert_non_null(c[t]);
            fz_set_threads(t + 1);
            op.c = c[t];
            fz_exec ex = exec_now(NULL, NULL);   /* the table in use, the team's plan */
            exec_gemm(&ex, &op, NULL, NULL);
        }
        for (int t = 1; t < 4; t++)
            if (memcmp(c[0], c[t], SM * SN * sizeof(float)))
                fail_msg("layout %d: %d threads differ from 1", l, t + 1);
        for (int t = 0; t < 4; t++)
            free(c[t]);
    }
    fz_set_threads(0);
    free(a);
    free(b);
    free(bias);
}

/* With a team of 3, each thread's slot holds the part it ran and the total is exact. */
static void flops_are_counted_per_thread_and_sum_exactly(void **state)
{
    (void)state;
    const fz_kernels *k = runtime_gemm_or_skip("to split");
    float *a = random_floats(M * K, 4), *b = random_floats(K * N, 5),
          *c = random_floats(M * N, 6), *bias = random_floats(N, 7);
    assert_true(a && b && c && bias);
    fz_counter *f = aligned_calloc(_Alignof(fz_counter), 1, sizeof *f);
    assert_non_null(f);
    fz_gemm_op op = { .m = M, .n = N, .k = K, .alpha = 1.0f, .a = a, .lda = K, .b = b,
                      .ldb = N, .c = c, .ldc = N, .bias = bias, .relu = true };
    fz_set_threads(3);
    fz_exec ex = exec_now(NULL, NULL);
    assert_ptr_equal(ex.k, k);
    exec_gemm(&ex, &op, NULL, f);
    fz_set_threads(0);
    assert_int_equal(counter_total(f), 2ull * M * N * K + 2ull * M * N);
#ifdef _OPENMP
    int busy = 0;
    for (int t = 0; t < FZ_MAX_THREADS; t++)
        busy += f->slot[t].n != 0;
    assert_int_equal(busy, 3);
#endif
    free(f);
    free(a);
    free(b);
    free(c);
    free(bias);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgemm_is_bitwise_identical_for_1_2_3_threads),
        cmocka_unit_test(sgemm_is_bitwise_identical_across_groups_and_blocking),
        cmocka_unit_test(sgemm_split_by_columns_is_bitwise_identical),
        cmocka_unit_test(flops_are_counted_per_thread_and_sum_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
