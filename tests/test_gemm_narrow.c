/*
 * The narrow and short kernels (simd/x86/gemm_avx512_narrow.c, gemm_avx512_short.c),
 * which the loop nest runs instead of an ISA's main kernel for products with a side of
 * at most 16 (sgemm_kernel_for_op): which kernel each shape gets; every shape around
 * their tiles (m and n from 1 to 17 and past, k 1 and odd, all four transposes, alpha,
 * beta, every epilogue, the small path's transposed form, leading dimensions whose rows
 * share an L1 set) against the scalar reference within the bound of test_kernels_gemm.c,
 * with nothing outside C written; 1 and 2 threads bitwise alike; and a prepacked B is
 * packed by the kernel that reads it (a pack in the main kernel's layout is never read
 * by another tile), or not read at all by the short path, bitwise as without one; a
 * transposed A read in place keeps L1-sized K blocks.
 * Each test runs per ISA; one whose kernel has no variants checks only that none is
 * chosen.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "align.h"
#include "gemm.h"
#include "kernels.h"
#include "rng.h"
#include "isa_testutil.h"

#define SENTINEL 4321.0f

static fz_rng rng = { 0x2545f4914f6cdd1dull };

static float *rand_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = rng_uniform(&rng, -1.0f, 1.0f);
    return p;
}

/* The ISA's GEMM kernel, or a visible skip where the build or CPU lacks the ISA. */
static const fz_sgemm_kernel *kernel_or_skip(void **state)
{
    isa_table_or_skip(state);
    const fz_sgemm_kernel *kern = sgemm_kernel_for((const char *)*state);
    assert_non_null(kern);
    return kern;
}

enum { EP_BIAS = 1, EP_RELU = 2, EP_MASK = 4 };

typedef struct {
    size_t m, n, k;
    fz_trans ta, tb;
    float alpha, beta;
    unsigned ep;
    size_t lda;   /* 0: the least, plus 3 */
} shape;

/* The ISA's whole GEMM (its table: sgemm_kernel_for_op chooses) against the scalar
 * reference, within |c - ref| <= (k + 4)·eps·(|alpha|·sum|a·b| + |beta·c| + |bias|);
 * C's padding untouched. */
static void check_against_scalar(const char *isa, const shape *s)
{
    const fz_kernels *table = kernels_for(isa);
    size_t m = s->m, n = s->n, k = s->k;
    size_t arows = s->ta == FZ_NOTRANS ? m : k, acols = s->ta == FZ_NOTRANS ? k : m;
    size_t lda = s->lda ? s->lda : acols + 3;
    size_t ldb = (s->tb == FZ_NOTRANS ? n : k) + 1, ldc = n + 2;
    float *a = rand_floats(arows * lda + 1);
    float *b = rand_floats((s->tb == FZ_NOTRANS ? k : n) * ldb + 1);
    float *bias = rand_floats(n), *mask = rand_floats(m * ldc);
    size_t cfloats = m * ldc + 8;
    float *c0 = rand_floats(cfloats);
    for (size_t i = 0; i < m; i++)
        for (size_t j = n; j < ldc; j++)
            c0[i * ldc + j] = SENTINEL;
    for (size_t x = m * ldc; x < cfloats; x++)
        c0[x] = SENTINEL;
    float *ref = malloc(cfloats * sizeof *ref), *got = malloc(cfloats * sizeof *got);
    assert_true(ref && got);
    memcpy(ref, c0, cfloats * sizeof *ref);
    memcpy(got, c0, cfloats * sizeof *got);
    fz_gemm_op op = { .ta = s->ta, .tb = s->tb, .m = m, .n = n, .k = k, .alpha = s->alpha,
                      .a = a, .lda = lda, .b = b, .ldb = ldb, .beta = s->beta, .ldc = ldc,
                      .bias = s->ep & EP_BIAS ? bias : NULL, .relu = s->ep & EP_RELU,
                      .mask = s->ep & EP_MASK ? mask : NULL, .ldmask = ldc };
    fz_counter *f0 = aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
    fz_counter *f1 = aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
    assert_true(f0 && f1);
    op.c = ref;
    kernels_scalar()->sgemm_ctx(&op, NULL, f0);
    op.c = got;
    table->sgemm_ctx(&op, NULL, f1);
    assert_int_equal(counter_total(f0), counter_total(f1));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (size_t p = 0; p < k; p++) {
                float x = s->ta == FZ_NOTRANS ? a[i * lda + p] : a[p * lda + i];
                float y = s->tb == FZ_NOTRANS ? b[p * ldb + j] : b[j * ldb + p];
                sum += fabs((double)x * y);
            }
            double bound = (k + 4) * (double)FLT_EPSILON *
                           (fabs(s->alpha) * sum + fabs((double)s->beta * c0[i * ldc + j]) +
                            (op.bias ? fabs(bias[j]) : 0.0));
            float r = ref[i * ldc + j], v = got[i * ldc + j];
            if (isnan(v) || !(fabs((double)v - r) <= bound))
                fail_msg("%s: C[%zu][%zu] = %.9g, reference %.9g, bound %.3g (m %zu n %zu "
                         "k %zu ta %d tb %d lda %zu alpha %g beta %g ep %u)", isa, i, j, v,
                         r, bound, m, n, k, s->ta, s->tb, lda, (double)s->alpha,
                         (double)s->beta, s->ep);
        }
    for (size_t x = 0; x < cfloats; x++)
        if ((x >= m * ldc || x % ldc >= n) && got[x] != SENTINEL)
            fail_msg("%s: wrote outside C at %zu (m %zu n %zu k %zu)", isa, x, m, n, k);
    free(f0); free(f1); free(a); free(b); free(bias); free(mask);
    free(c0); free(ref); free(got);
}

static const fz_trans trans[2] = { FZ_NOTRANS, FZ_TRANS };

static fz_gemm_op op_of(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, size_t lda)
{
    static float dummy;
    return (fz_gemm_op){ .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = 1.0f,
                         .a = &dummy, .lda = lda, .b = &dummy,
                         .ldb = tb == FZ_NOTRANS ? n : k, .c = &dummy, .ldc = n };
}

/* The shapes get the kernels meant for them: DeepBench's 1760×16×1760 (NN, TN)
 * the narrow one, the head's wgrad 10×1024×256 TN the short one; the head's forward
 * 256×10×1024 NT keeps the main kernel (A's rows 4 KiB apart would share an L1 set),
 * as do a transposed op(B) with few rows, fewer than 3 rows, a wide product, a C within
 * one main tile; the seed network's small products with C 2 to 16 wide go to the tiny
 * kernel (AVX-512: the AVX2 tile), its one-column layer stays on the main kernel. */
static void each_shape_gets_its_kernel(void **state)
{
    const fz_sgemm_kernel *kern = kernel_or_skip(state);
    fz_gemm_ctx ctx = { .caches = { .l1d = 32 << 10, .l2 = 1 << 20, .l3 = 32 << 20 },
                        .threads = 1, .groups = 1 };
    const fz_sgemm_kernel *narrow = kern->narrow ? kern->narrow : kern;
    const fz_sgemm_kernel *few = kern->few_rows ? kern->few_rows : kern;
    const fz_sgemm_kernel *tiny = kern->tiny ? kern->tiny : kern;
    struct { fz_gemm_op op; const fz_sgemm_kernel *want; } cases[] = {
        { op_of(FZ_NOTRANS, FZ_NOTRANS, 1760, 16, 1760, 1760), narrow },
        { op_of(FZ_TRANS, FZ_NOTRANS, 1760, 16, 1760, 1760), narrow },
        { op_of(FZ_NOTRANS, FZ_TRANS, 256, 10, 1024, 1024), kern },
        { op_of(FZ_NOTRANS, FZ_TRANS, 256, 10, 1000, 1000), narrow },
        { op_of(FZ_TRANS, FZ_NOTRANS, 10, 1024, 256, 10), few },
        { op_of(FZ_NOTRANS, FZ_NOTRANS, 14, 100, 64, 64), few },
        { op_of(FZ_NOTRANS, FZ_NOTRANS, 15, 100, 64, 64), kern },
        { op_of(FZ_NOTRANS, FZ_NOTRANS, 3, 100, 64, 64), few },
        { op_of(FZ_NOTRANS, FZ_NOTRANS, 2, 100, 64, 64), kern },
        { op_of(FZ_TRANS, FZ_TRANS, 10, 1024, 256, 10), kern },
        { op_of(FZ_NOTRANS, FZ_NOTRANS, 256, 1024, 10, 10), kern },
        /* The seed network's small products: C 2 to 16 wide on the tiny kernel (its
         * forward 64×5×10, its wgrad 1×5×64), a one-column C (64×1×5) on kern's own
         * transposed form; a C 17 wide, or too big for the small path, not. */
        { op_of(FZ_NOTRANS, FZ_TRANS, 64, 5, 10, 10), tiny },
        { op_of(FZ_TRANS, FZ_NOTRANS, 1, 5, 64, 1), tiny },
        { op_of(FZ_NOTRANS, FZ_TRANS, 64, 1, 5, 5), kern },
        { op_of(FZ_NOTRANS, FZ_TRANS, 64, 17, 10, 10), kern },
        { op_of(FZ_NOTRANS, FZ_NOTRANS, kern->mr, 16, 1000, 1000), kern },
        { op_of(FZ_NOTRANS, FZ_NOTRANS, kern->mr + 1, 16, 1000, 1000), narrow },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const fz_sgemm_kernel *got = sgemm_kernel_for_op(kern, &cases[c].op, &ctx);
        if (got != cases[c].want)
            fail_msg("%s: case %zu (%zux%zux%zu): %s, expected %s", kern->name, c,
                     cases[c].op.m, cases[c].op.n, cases[c].op.k, got->name,
                     cases[c].want->name);
    }
    /* A variant has no variants of its own. */
    assert_true(sgemm_kernel_for_op(narrow, &cases[0].op, &ctx) == narrow);
    assert_true(sgemm_kernel_for_op(few, &cases[4].op, &ctx) == few);
}

/* n from 1 to 17 (around the narrow tile's 16 columns) by m around its 14 rows and the
 * transposed small path's 16 lanes, on the small path (k small) and the blocked path
 * (m·n·k > 2^18), k 1 and odd, all transposes; A's rows 2 KiB apart too. */
static void narrow_products_match_scalar(void **state)
{
    const char *isa = *state;
    kernel_or_skip(state);
    const size_t ms[] = { 1, 2, 13, 14, 15, 16, 17, 29, 1100 };
    const size_t ks[] = { 1, 7, 33 };
    for (size_t n = 1; n <= 17; n++)
        for (size_t im = 0; im < sizeof ms / sizeof *ms; im++)
            for (size_t ik = 0; ik < sizeof ks / sizeof *ks; ik++)
                for (int t = 0; t < 4; t++) {
                    shape s = { .m = ms[im], .n = n, .k = ks[ik], .ta = trans[t & 1],
                                .tb = trans[t >> 1], .alpha = 1.0f };
                    if (ms[im] == 1100 && n % 4 != 1)
                        continue;   /* the blocked path: a few widths suffice */
                    check_against_scalar(isa, &s);
                }
    /* Deeper than one K block, and A's rows 4 KiB apart (the main kernel's). */
    for (int t = 0; t < 4; t++)
        for (size_t n = 15; n <= 17; n++) {
            shape s = { .m = 300, .n = n, .k = 1201, .ta = trans[t & 1], .tb = trans[t >> 1],
                        .alpha = 1.0f };
            check_against_scalar(isa, &s);
            s.k = 600;
            s.lda = 1024;
            if (s.ta == FZ_NOTRANS)
                check_against_scalar(isa, &s);
        }
}

/* m from 1 to 17 (around the short tile's 14 rows) by n around its 32 columns, k 1, odd
 * and deep, all transposes (a transposed op(B) goes to the main kernel). */
static void short_products_match_scalar(void **state)
{
    const char *isa = *state;
    kernel_or_skip(state);
    const size_t ns[] = { 17, 31, 32, 33, 63, 64, 65, 100 };
    const size_t ks[] = { 1, 9, 257 };
    for (size_t m = 1; m <= 17; m++)
        for (size_t in = 0; in < sizeof ns / sizeof *ns; in++)
            for (size_t ik = 0; ik < sizeof ks / sizeof *ks; ik++)
                for (int t = 0; t < 4; t++) {
                    shape s = { .m = m, .n = ns[in], .k = ks[ik], .ta = trans[t & 1],
                                .tb = trans[t >> 1], .alpha = 1.0f };
                    check_against_scalar(isa, &s);
                }
    /* The head's wgrad itself, and one past 2^21 (split among threads when there are). */
    shape head = { .m = 10, .n = 1024, .k = 256, .ta = FZ_TRANS, .alpha = 1.0f };
    check_against_scalar(isa, &head);
    head.lda = 1024;   /* rows 4 KiB apart: A is packed */
    head.ta = FZ_NOTRANS;
    check_against_scalar(isa, &head);
}

/* alpha, beta in {0, 1, -0.5} × every epilogue × all transposes, on narrow shapes (small
 * path, its transposed form, blocked) and short ones. */
static void every_alpha_beta_epilogue_matches_scalar(void **state)
{
    const char *isa = *state;
    kernel_or_skip(state);
    const float ab[] = { 0.0f, 1.0f, -0.5f };
    const unsigned eps[] = { 0, EP_BIAS, EP_RELU, EP_BIAS | EP_RELU, EP_MASK,
                             EP_BIAS | EP_RELU | EP_MASK };
    const size_t shapes[][3] = { { 29, 16, 9 }, { 40, 11, 5 }, { 700, 13, 41 },
                                 { 10, 70, 33 }, { 14, 33, 300 }, { 5, 1000, 3 } };
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
        for (int t = 0; t < 4; t++)
            for (size_t ia = 0; ia < 3; ia++)
                for (size_t ib = 0; ib < 3; ib++)
                    for (size_t ie = 0; ie < sizeof eps / sizeof *eps; ie++) {
                        shape s = { .m = shapes[sh][0], .n = shapes[sh][1],
                                    .k = shapes[sh][2], .ta = trans[t & 1],
                                    .tb = trans[t >> 1], .alpha = ab[ia], .beta = ab[ib],
                                    .ep = eps[ie] };
                        check_against_scalar(isa, &s);
                    }
}

/* One GEMM with `threads` threads through the kernel's loop nest. */
static float *run_threads(const fz_sgemm_kernel *kern, fz_gemm_op op, int threads,
                          const float *bias, const float *mask)
{
    fz_gemm_ctx ctx = { .caches = { .l1d = 32 << 10, .l2 = 1 << 20, .l3 = 32 << 20 },
                        .threads = threads, .groups = 1 };
    float *c = calloc(op.m * op.ldc, sizeof *c);
    assert_non_null(c);
    op.c = c;
    op.bias = bias;
    op.relu = true;
    op.mask = mask;
    op.ldmask = op.ldc;
    sgemm_run(kern, &op, &ctx, NULL);
    return c;
}

/* Products past the one-thread bound (m·n·k >= 2^21) on the narrow and short kernels:
 * 1 and 2 threads give the same bits. */
static void one_and_two_threads_agree_bitwise(void **state)
{
    const fz_sgemm_kernel *kern = kernel_or_skip(state);
    const struct { fz_trans ta, tb; size_t m, n, k; } cases[] = {
        { FZ_NOTRANS, FZ_NOTRANS, 1000, 16, 400 }, { FZ_TRANS, FZ_NOTRANS, 1000, 13, 400 },
        { FZ_TRANS, FZ_NOTRANS, 10, 1024, 256 }, { FZ_NOTRANS, FZ_NOTRANS, 14, 1000, 300 },
        { FZ_TRANS, FZ_NOTRANS, 5, 3000, 200 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t m = cases[c].m, n = cases[c].n, k = cases[c].k;
        size_t lda = cases[c].ta == FZ_NOTRANS ? k : m;
        float *a = rand_floats(m * k), *b = rand_floats(k * n);
        float *bias = rand_floats(n), *mask = rand_floats(m * n);
        fz_gemm_op op = { .ta = cases[c].ta, .tb = cases[c].tb, .m = m, .n = n, .k = k,
                          .alpha = 1.0f, .a = a, .lda = lda, .b = b, .ldb = n, .ldc = n };
        float *c1 = run_threads(kern, op, 1, bias, mask);
        float *c2 = run_threads(kern, op, 2, bias, mask);
        if (memcmp(c1, c2, m * n * sizeof *c1))
            fail_msg("%s: %zux%zux%zu: 1 and 2 threads differ", kern->name, m, n, k);
        free(a); free(b); free(bias); free(mask); free(c1); free(c2);
    }
}

/* A B prepacked for a narrow product is packed by the kernel that reads it, in its
 * panels, and gives bitwise the on-the-fly result (small and blocked path, 1 and 2
 * threads); the short path reads no pack; a pack made by the main kernel itself (its
 * 64-wide panels) is never read by the narrow tile. */
static void prepacked_b_is_packed_by_the_kernel_that_reads_it(void **state)
{
    const fz_sgemm_kernel *kern = kernel_or_skip(state);
    const struct { fz_trans ta, tb; size_t m, n, k; } cases[] = {
        { FZ_NOTRANS, FZ_TRANS, 60, 16, 50 }, { FZ_NOTRANS, FZ_TRANS, 2000, 16, 300 },
        { FZ_TRANS, FZ_NOTRANS, 2000, 9, 300 }, { FZ_NOTRANS, FZ_TRANS, 2000, 16, 1500 },
        { FZ_TRANS, FZ_NOTRANS, 10, 1024, 256 },
        /* C 16 wide and tall enough that its K blocks would deepen, but A transposed in
         * place keeps them L1-sized: the pack's blocks follow. */
        { FZ_TRANS, FZ_NOTRANS, 6000, 16, 700 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (int threads = 1; threads <= 2; threads++) {
            size_t m = cases[c].m, n = cases[c].n, k = cases[c].k;
            fz_gemm_ctx ctx = { .caches = { .l1d = 32 << 10, .l2 = 1 << 20, .l3 = 32 << 20 },
                                .threads = threads, .groups = 1 };
            float *a = rand_floats(m * k), *b = rand_floats(k * n);
            float *c0 = calloc(m * n, sizeof *c0), *c1 = calloc(m * n, sizeof *c1);
            assert_true(c0 && c1);
            fz_gemm_op op = { .ta = cases[c].ta, .tb = cases[c].tb, .m = m, .n = n, .k = k,
                              .alpha = 1.0f, .a = a,
                              .lda = cases[c].ta == FZ_NOTRANS ? k : m, .b = b,
                              .ldb = cases[c].tb == FZ_NOTRANS ? n : k, .c = c0, .ldc = n };
            const fz_sgemm_kernel *runs = sgemm_kernel_for_op(kern, &op, &ctx);
            bool short_path = runs->reads_b_in_place;
            assert_int_equal(sgemm_reads_packed_b(kern, &op, &ctx), !short_path);
            fz_sgemm_packed *pb = sgemm_prepack_b(kern, &op, &ctx);
            assert_non_null(pb);
            assert_true(sgemm_packed_fits(pb, kern, &op, &ctx));
            sgemm_run(kern, &op, &ctx, NULL);
            op.c = c1;
            sgemm_run_prepacked(kern, &op, pb, &ctx, NULL);
            if (memcmp(c0, c1, m * n * sizeof *c0))
                fail_msg("%s: %zux%zux%zu, %d threads: prepacked differs", kern->name, m,
                         n, k, threads);
            if (runs != kern) {
                /* The main kernel's own pack (64-wide panels) does not fit the product
                 * the narrow or short kernel runs: not read, same bits. */
                fz_sgemm_kernel alone = *kern;
                alone.narrow = alone.few_rows = alone.tiny = NULL;
                fz_sgemm_packed *wide = sgemm_prepack_b(&alone, &op, &ctx);
                assert_false(sgemm_packed_fits(wide, kern, &op, &ctx));
                memset(c1, 0, m * n * sizeof *c1);
                sgemm_run_prepacked(kern, &op, wide, &ctx, NULL);
                assert_memory_equal(c0, c1, m * n * sizeof *c0);
                sgemm_packed_free(wide);
            }
            sgemm_packed_free(pb);
            free(a); free(b); free(c0); free(c1);
        }
}

/* A transposed A read where it lies (C one tile wide) keeps L1-sized K blocks where
 * the product's C would deepen them (sgemm_blocking_for_op, gemm.c), an untransposed A
 * keeps the deep ones; across those K blocks the product matches the scalar reference
 * (prepacked_b_is_packed_by_the_kernel_that_reads_it: and a B prepacked for such a
 * product is laid out in the same blocks). */
static void transposed_a_in_place_keeps_l1_sized_k_blocks(void **state)
{
    const char *isa = *state;
    const fz_sgemm_kernel *kern = kernel_or_skip(state);
    fz_gemm_ctx ctx = { .caches = { .l1d = 32 << 10, .l2 = 512 << 10, .l3 = 32 << 20 },
                        .threads = 1, .groups = 1 };
    const size_t m = 2600, k = 700;
    fz_gemm_op tn = op_of(FZ_TRANS, FZ_NOTRANS, m, 16, k, m);
    fz_gemm_op nn = op_of(FZ_NOTRANS, FZ_NOTRANS, m, 16, k, k);
    const fz_sgemm_kernel *runs = sgemm_kernel_for_op(kern, &tn, &ctx);
    fz_blocking l1 = blocking_from_caches(ctx.caches, runs->mr, runs->nr, sizeof(float));
    fz_blocking deep = sgemm_blocking_for(runs, &ctx, m, 16);
    /* The precondition: C alone would deepen this product's K blocks. */
    assert_true(deep.kc > l1.kc);
    assert_true(k > l1.kc);
    /* A is read in place where C fits one tile (a kernel with a narrower tile packs A,
     * and keeps the deep blocks). */
    assert_int_equal(sgemm_blocking_for_op(runs, &ctx, &tn).kc,
                     runs->nr >= 16 ? l1.kc : deep.kc);
    assert_int_equal(sgemm_blocking_for_op(sgemm_kernel_for_op(kern, &nn, &ctx), &ctx, &nn).kc,
                     sgemm_blocking_for(sgemm_kernel_for_op(kern, &nn, &ctx), &ctx, m, 16).kc);

    shape s = { .m = m, .n = 16, .k = k, .ta = FZ_TRANS, .tb = FZ_NOTRANS, .alpha = 1.0f };
    check_against_scalar(isa, &s);   /* default caches: the same L1 and L2 as ctx */
    s.n = 11;
    check_against_scalar(isa, &s);

}

#define ISA_TESTS(isa)                                                  \
    ISA_TEST(isa, each_shape_gets_its_kernel),                          \
    ISA_TEST(isa, narrow_products_match_scalar),                        \
    ISA_TEST(isa, short_products_match_scalar),                         \
    ISA_TEST(isa, every_alpha_beta_epilogue_matches_scalar),            \
    ISA_TEST(isa, one_and_two_threads_agree_bitwise),                   \
    ISA_TEST(isa, prepacked_b_is_packed_by_the_kernel_that_reads_it),   \
    ISA_TEST(isa, transposed_a_in_place_keeps_l1_sized_k_blocks)

int main(void)
{
    const struct CMUnitTest tests[] = { ISA_TESTS("avx2"), ISA_TESTS("avx512"),
                                        ISA_TESTS("neon") };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
