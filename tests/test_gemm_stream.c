/*
 * C stored past the caches (fz_tile_epilogue.stream, simd/gemm/gemm.c): where a GEMM
 * writes a large C once, kernels with a fence stream its whole, aligned tiles.  The
 * result and the FLOP count are bitwise those of the same kernel storing through the
 * caches, for full and edge tiles, C and its rows aligned or not (then the kernel falls
 * back to plain stores), every epilogue that leaves C unread, on one and two threads;
 * nothing outside C's m×n is written; and sgemm_streams_c says yes exactly where the
 * rule does (beta 0, one K block, C larger than the L2), so these shapes do stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "gemm.h"
#include "kernels.h"
#include "isa_testutil.h"

/* A 16 KiB L2, so that a C of more than 4096 floats streams; KC stays L1-sized. */
static fz_gemm_ctx tiny_l2(int threads)
{
    return (fz_gemm_ctx){ .caches = { .l1d = 32 << 10, .l2 = 16 << 10, .l3 = 1 << 20 },
                          .threads = threads, .groups = 1 };
}

/* The ISA's kernel (state: its name), or a visible skip where it does not stream. */
static const fz_sgemm_kernel *streaming_kernel_or_skip(void **state)
{
    const fz_sgemm_kernel *kern = sgemm_kernel_for((const char *)*state);
    if (!kern || !kern->fence)
        skip();   /* not on this CPU or build, or a kernel that never streams */
    return kern;
}

/* Shapes with full tiles and edge tiles in both directions, each past the small path
 * (m·n·k > 2^18) with k within one K block. */
static const size_t shapes[][3] = {
    { 70, 130, 40 }, { 600, 512, 1 }, { 13, 1000, 24 }, { 200, 192, 40 }, { 97, 1000, 33 },
};

/* C (m rows, ldc apart, `offset` floats past a 64-byte boundary) by `kern` streaming and
 * by the same kernel without a fence (which never streams); asserts both bitwise equal,
 * the FLOP counts equal and the floats around C's rows untouched. */
static void check_one(const fz_sgemm_kernel *kern, int threads, fz_trans ta, size_t m,
                      size_t n, size_t k, size_t ldc, size_t offset, int epi)
{
    /* Its variants too (the narrow and short kernels run some of these shapes). */
    fz_sgemm_kernel plain = *kern, plain_narrow, plain_few_rows;
    plain.fence = NULL;
    if (kern->narrow) {
        plain_narrow = *kern->narrow;
        plain_narrow.fence = NULL;
        plain.narrow = &plain_narrow;
    }
    if (kern->few_rows) {
        plain_few_rows = *kern->few_rows;
        plain_few_rows.fence = NULL;
        plain.few_rows = &plain_few_rows;
    }
    fz_gemm_ctx ctx = tiny_l2(threads);
    size_t lda = ta == FZ_NOTRANS ? k : m;
    uint64_t seed = (uint64_t)m << 32 ^ (uint64_t)n << 16 ^ k << 4 ^ (uint64_t)epi;
    float *a = random_floats(m * k, seed), *b = random_floats(k * n, seed + 1);
    float *bias = random_floats(n, seed + 2), *mask = random_floats(m * ldc, seed + 3);
    assert_true(a && b && bias && mask);
    size_t floats = offset + m * ldc + 16;
    float *c[2];
    for (int v = 0; v < 2; v++) {
        c[v] = aligned_calloc(64, floats, sizeof(float));
        assert_non_null(c[v]);
        for (size_t i = 0; i < floats; i++)
            c[v][i] = -7.0f;   /* a value no product here gives */
    }
    fz_gemm_op op = { .ta = ta, .tb = FZ_NOTRANS, .m = m, .n = n, .k = k, .alpha = 1.0f,
                      .a = a, .lda = lda, .b = b, .ldb = n, .beta = 0.0f, .ldc = ldc,
                      .bias = epi >= 1 ? bias : NULL, .relu = epi == 1,
                      .mask = epi == 2 ? mask : NULL, .ldmask = ldc };
    assert_true(sgemm_streams_c(kern, &op, &ctx));
    assert_false(sgemm_streams_c(&plain, &op, &ctx));
    fz_counter *f[2] = { counter_new(), counter_new() };
    assert_true(f[0] && f[1]);
    op.c = c[0] + offset;
    sgemm_run(kern, &op, &ctx, f[0]);
    op.c = c[1] + offset;
    sgemm_run(&plain, &op, &ctx, f[1]);
    if (memcmp(c[0], c[1], floats * sizeof(float)) != 0)
        fail_msg("%s, %d thread(s), %c: m %zu n %zu k %zu ldc %zu offset %zu epilogue %d: "
                 "C streamed differs", kern->name, threads, ta == FZ_NOTRANS ? 'N' : 'T',
                 m, n, k, ldc, offset, epi);
    for (size_t i = 0; i < m; i++)   /* the gaps between C's rows and around it */
        for (size_t j = n; j < ldc; j++)
            assert_true(c[0][offset + i * ldc + j] == -7.0f);
    for (size_t i = 0; i < offset; i++)
        assert_true(c[0][i] == -7.0f);
    for (size_t i = offset + (m - 1) * ldc + n; i < floats; i++)
        assert_true(c[0][i] == -7.0f);
    assert_int_equal(counter_total(f[0]), counter_total(f[1]));
    /* bias and ReLU, or bias and mask: two epilogue stages */
    assert_int_equal(counter_total(f[0]), 2 * m * n * k + (epi ? 2 * m * n : 0));
    free(f[0]); free(f[1]); free(c[0]); free(c[1]);
    free(a); free(b); free(bias); free(mask);
}

static void streamed_c_equals_cached_c_bitwise(void **state)
{
    const fz_sgemm_kernel *kern = streaming_kernel_or_skip(state);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int threads = 1; threads <= 2; threads++)
            for (int t = 0; t < 2; t++) {
                fz_trans ta = t ? FZ_TRANS : FZ_NOTRANS;
                /* Rows of whole lines, C on a line boundary: the streamed case. */
                size_t wide = (n + 15) / 16 * 16;
                check_one(kern, threads, ta, m, n, k, wide, 0, s % 3);
                /* Rows or C off the line boundary: plain stores, same result. */
                check_one(kern, threads, ta, m, n, k, wide + 3, 0, (s + 1) % 3);
                check_one(kern, threads, ta, m, n, k, wide, 5, (s + 2) % 3);
            }
    }
}

static void only_c_written_once_and_too_big_for_l2_streams(void **state)
{
    const fz_sgemm_kernel *kern = streaming_kernel_or_skip(state);
    fz_gemm_ctx ctx = tiny_l2(1);
    fz_blocking blk = sgemm_blocking_for(kern, &ctx, 200, 192);
    float x = 0.0f;
    fz_gemm_op op = { .ta = FZ_NOTRANS, .tb = FZ_NOTRANS, .m = 200, .n = 192, .k = 40,
                      .alpha = 1.0f, .a = &x, .lda = 40, .b = &x, .ldb = 192, .c = &x,
                      .ldc = 192 };
    assert_true(sgemm_streams_c(kern, &op, &ctx));
    op.beta = 1.0f;   /* C is read */
    assert_false(sgemm_streams_c(kern, &op, &ctx));
    op.beta = 0.0f;
    op.k = blk.kc + 1;   /* two K blocks: the first block's tiles are read back */
    op.lda = op.k;
    assert_false(sgemm_streams_c(kern, &op, &ctx));
    op.k = 40;
    op.lda = 40;
    op.m = 16;   /* 16×192 floats: 12 KiB, fits the 16 KiB L2 */
    assert_false(sgemm_streams_c(kern, &op, &ctx));
    fz_gemm_ctx big = ctx;
    big.caches.l2 = 1 << 20;   /* the 200×192 C fits a 1 MiB L2 */
    op.m = 200;
    assert_false(sgemm_streams_c(kern, &op, &big));
    fz_gemm_ctx cached = ctx;
    cached.cached_c = true;   /* a CPU where streaming loses (cpu_streaming_stores_pay) */
    assert_true(sgemm_streams_c(kern, &op, &ctx));
    assert_false(sgemm_streams_c(kern, &op, &cached));
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        ISA_TEST("avx2", streamed_c_equals_cached_c_bitwise),
        ISA_TEST("avx2", only_c_written_once_and_too_big_for_l2_streams),
        ISA_TEST("avx512", streamed_c_equals_cached_c_bitwise),
        ISA_TEST("avx512", only_c_written_once_and_too_big_for_l2_streams),
        ISA_TEST("neon", streamed_c_equals_cached_c_bitwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
