/*
 * A GEMM whose B was packed once (sgemm_prepack_b, simd/gemm/prepack.c) gives
 * bitwise the result and the FLOP count of the same GEMM packing B on the fly, for every
 * ISA with a microkernel, shapes on both sides of every block edge (MR, NR, KC, MC, NC),
 * all transposes, every epilogue, one and two threads in one or two L3 groups; and a
 * handle made for another kernel or another KC is not used (so a product deep enough
 * for deeper K blocks needs a pack made for its shape); sgemm_reads_packed_b says
 * no exactly for the products that never read a pack.  On the fly, a kernel with
 * b_in_place_rows reads an untransposed B of a short product where it lies, unpacked
 * (AVX-512: up to 512 rows, B's rows at most 8 KiB apart, so most NN shapes here): the
 * comparison pins that path to the packed one bitwise too, and a test pins the rule.
 * The scalar reference has no microkernel and packs nothing: it has nothing to test
 * here.
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
#include "gemm.h"
#include "kernels.h"
#include "rng.h"

static fz_rng rng = { 0x9e3779b97f4a7c15ull };

static float *rand_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = rng_uniform(&rng, -1.0f, 1.0f);
    return p;
}

/* Small caches, so that moderate shapes cross several KC, MC and NC blocks. */
static fz_gemm_ctx small_caches(int threads, int groups)
{
    return (fz_gemm_ctx){ .caches = { .l1d = 8 << 10, .l2 = 64 << 10, .l3 = 256 << 10 },
                          .threads = threads, .groups = groups };
}

static uint64_t total(fz_counter *c) { return counter_total(c); }

/* One GEMM both ways; asserts C and the FLOP counts equal bitwise. */
static void check_one(const fz_sgemm_kernel *kern, const fz_gemm_ctx *ctx, fz_trans ta,
                      fz_trans tb, size_t m, size_t n, size_t k, int epi)
{
    size_t lda = (ta == FZ_NOTRANS ? k : m) + 3, ldb = (tb == FZ_NOTRANS ? n : k) + 1;
    float *a = rand_floats((ta == FZ_NOTRANS ? m : k) * lda);
    float *b = rand_floats((tb == FZ_NOTRANS ? k : n) * ldb);
    float *bias = rand_floats(n), *mask = rand_floats(m * n);
    float *c0 = rand_floats(m * n), *c1 = malloc(m * n * sizeof *c1);
    memcpy(c1, c0, m * n * sizeof *c1);
    fz_gemm_op op = { .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = 1.0f, .a = a,
                      .lda = lda, .b = b, .ldb = ldb, .beta = epi == 3 ? 0.5f : 0.0f,
                      .c = c0, .ldc = n, .bias = epi & 1 ? bias : NULL, .relu = epi == 1,
                      .mask = epi == 2 ? mask : NULL, .ldmask = n };
    fz_counter *f0 = aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
    fz_counter *f1 = aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
    assert_non_null(f0);
    assert_non_null(f1);
    sgemm_run(kern, &op, ctx, f0);

    fz_sgemm_packed *pb = sgemm_prepack_b(kern, &op, ctx);
    assert_non_null(pb);
    assert_true(sgemm_packed_fits(pb, kern, &op, ctx));
    assert_true(sgemm_packed_bytes(pb) >= k * n * sizeof(float));
    op.c = c1;
    sgemm_run_prepacked(kern, &op, pb, ctx, f1);
    if (memcmp(c0, c1, m * n * sizeof *c0) != 0)
        fail_msg("%s %c%c m %zu n %zu k %zu epilogue %d threads %d: C differs", kern->name,
                 ta == FZ_NOTRANS ? 'N' : 'T', tb == FZ_NOTRANS ? 'N' : 'T', m, n, k, epi,
                 ctx ? ctx->threads : 1);
    assert_int_equal(total(f0), total(f1));

    sgemm_packed_free(pb);
    free(f0);
    free(f1);
    free(a); free(b); free(bias); free(mask); free(c0); free(c1);
}

static const char *const isas[] = { "avx2", "avx512", "neon" };

static void prepacked_gemm_equals_on_the_fly_bitwise(void **state)
{
    (void)state;
    int ran = 0;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        const fz_sgemm_kernel *kern = sgemm_kernel_for(isas[i]);
        if (!kern)
            continue;
        ran++;
        fz_gemm_ctx one = small_caches(1, 1);
        fz_blocking blk = sgemm_blocking(kern, &one);
        size_t mr = kern->mr, nr = kern->nr;
        size_t ms[] = { 1, mr - 1 ? mr - 1 : 1, mr + 1, blk.mc + 1, 2 * blk.mc + mr + 3 };
        size_t ns[] = { 1, nr - 1 ? nr - 1 : 1, nr + 1, blk.nc, blk.nc + nr + 1 };
        size_t ks[] = { 1, blk.kc - 1, blk.kc, blk.kc + 1, 2 * blk.kc + 5 };
        for (size_t im = 0; im < 5; im++)
            for (size_t in = 0; in < 5; in++)
                for (size_t ik = 0; ik < 5; ik++)
                    for (int t = 0; t < 4; t++) {
                        fz_trans ta = t & 1 ? FZ_TRANS : FZ_NOTRANS;
                        fz_trans tb = t & 2 ? FZ_TRANS : FZ_NOTRANS;
                        int epi = (int)((im + in + ik + (size_t)t) % 4);
                        check_one(kern, &one, ta, tb, ms[im], ns[in], ks[ik], epi);
                        /* Default caches: the small path for the small shapes. */
                        check_one(kern, NULL, ta, tb, ms[im], ns[in], ks[ik], epi);
                    }
        /* Big enough for a team: two threads in one group, then in two. */
        for (int groups = 1; groups <= 2; groups++) {
            fz_gemm_ctx two = small_caches(2, groups);
            for (int epi = 0; epi < 4; epi++) {
                check_one(kern, &two, FZ_NOTRANS, FZ_TRANS, 2 * blk.mc + 7,
                          2 * blk.nc + nr + 3, 2 * blk.kc + 9, epi);
                check_one(kern, &two, FZ_NOTRANS, FZ_NOTRANS, 160, 2 * blk.nc + 1,
                          3 * blk.kc + 1, epi);
            }
        }
    }
    if (!ran)
        skip();   /* a build or CPU with no microkernel: only the scalar reference */
}

/* A handle made for one kernel, KC or operand is not read by another GEMM: the result
 * is that of packing on the fly. */
static void stale_pack_is_not_used(void **state)
{
    (void)state;
    const fz_sgemm_kernel *kerns[3];
    size_t nk = 0;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++)
        if (sgemm_kernel_for(isas[i]))
            kerns[nk++] = sgemm_kernel_for(isas[i]);
    if (!nk)
        skip();
    size_t m = 70, n = 300, k = 500;
    float *a = rand_floats(m * k), *b = rand_floats(k * n), *b2 = rand_floats(k * n);
    float *c0 = malloc(m * n * sizeof *c0), *c1 = malloc(m * n * sizeof *c1);
    fz_gemm_ctx small = small_caches(1, 1), other = small;
    other.caches.l1d = 48 << 10;   /* another KC */
    fz_gemm_op op = { .ta = FZ_NOTRANS, .tb = FZ_TRANS, .m = m, .n = n, .k = k, .alpha = 1,
                      .a = a, .lda = k, .b = b, .ldb = k, .c = c0, .ldc = n };
    fz_sgemm_packed *pb = sgemm_prepack_b(kerns[0], &op, &small);
    assert_non_null(pb);
    assert_int_not_equal(sgemm_blocking(kerns[0], &small).kc,
                         sgemm_blocking(kerns[0], &other).kc);

    /* Another KC. */
    assert_false(sgemm_packed_fits(pb, kerns[0], &op, &other));
    sgemm_run(kerns[0], &op, &other, NULL);
    op.c = c1;
    sgemm_run_prepacked(kerns[0], &op, pb, &other, NULL);
    assert_memory_equal(c0, c1, m * n * sizeof *c0);
    /* Another operand (a different B of the same shape). */
    op.b = b2;
    assert_false(sgemm_packed_fits(pb, kerns[0], &op, &small));
    op.c = c0;
    sgemm_run(kerns[0], &op, &small, NULL);
    op.c = c1;
    sgemm_run_prepacked(kerns[0], &op, pb, &small, NULL);
    assert_memory_equal(c0, c1, m * n * sizeof *c0);
    op.b = b;
    /* Another kernel (as after kernels_override). */
    for (size_t i = 1; i < nk; i++) {
        assert_false(sgemm_packed_fits(pb, kerns[i], &op, &small));
        op.c = c0;
        sgemm_run(kerns[i], &op, &small, NULL);
        op.c = c1;
        sgemm_run_prepacked(kerns[i], &op, pb, &small, NULL);
        assert_memory_equal(c0, c1, m * n * sizeof *c0);
    }
    /* No kernel: nothing to pack for the scalar reference. */
    assert_null(sgemm_prepack_b(NULL, &op, &small));
    assert_int_equal(sgemm_packed_bytes(NULL), 0);

    sgemm_packed_free(pb);
    free(a); free(b); free(b2); free(c0); free(c1);
}

/* Which products read a pre-packed B: the blocked path and the small path do; an empty
 * product does not, nor the small path's transposed form (C tall and at most MR wide),
 * which packs A.  Where the answer is no, a pack changes nothing, bitwise. */
static void reads_packed_b_only_where_the_loop_nest_reads_it(void **state)
{
    (void)state;
    bool any = false;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        const fz_sgemm_kernel *kern = sgemm_kernel_for(isas[i]);
        if (!kern)
            continue;
        any = true;
        fz_gemm_ctx ctx = { .caches = { .l1d = 48 << 10, .l2 = 2 << 20 }, .threads = 1,
                            .groups = 1 };
        /* Y = X·Wᵀ of shapes (m, n, k): blocked, small, small and one row, empty. */
        struct { size_t m, n, k; bool reads; } cases[] = {
            { 256, 256, 256, true }, { 12, 40, 30, true }, { 1, 5, 64, true },
            { 0, 8, 8, false },
            /* The seed network's fc1 (64 samples, 10 -> 5): tall and narrow. */
            { kern->nr, kern->mr, 10, !kern->stores_transposed },
        };
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            size_t m = cases[c].m, n = cases[c].n, k = cases[c].k;
            float *a = rand_floats(m * k), *b = rand_floats(n * k);
            float *c0 = calloc(m * n + 1, sizeof *c0), *c1 = calloc(m * n + 1, sizeof *c1);
            assert_true(c0 && c1);
            fz_gemm_op op = { .ta = FZ_NOTRANS, .tb = FZ_TRANS, .m = m, .n = n, .k = k,
                              .alpha = 1, .a = a, .lda = k, .b = b, .ldb = k, .c = c0,
                              .ldc = n ? n : 1 };
            if (sgemm_reads_packed_b(kern, &op, &ctx) != cases[c].reads)
                fail_msg("%s: %zux%zux%zu: reads_packed_b is %d", isas[i], m, n, k,
                         !cases[c].reads);
            fz_sgemm_packed *pb = m ? sgemm_prepack_b(kern, &op, &ctx) : NULL;
            sgemm_run(kern, &op, &ctx, NULL);
            op.c = c1;
            sgemm_run_prepacked(kern, &op, pb, &ctx, NULL);
            assert_memory_equal(c0, c1, (m * n + 1) * sizeof *c0);
            sgemm_packed_free(pb);
            free(a); free(b); free(c0); free(c1);
        }
    }
    if (!any)
        skip();   /* no microkernel on this CPU or build */
}

/* Where the blocked path reads an untransposed B in place, unpacked: for a kernel with
 * b_in_place_rows, C up to that many rows, B's rows at most 8 KiB apart (2048 floats; a
 * 4096-wide layer's dgrad, rows 16 KiB apart, ran faster packed), no tile hook, and C
 * wider than one panel (A packed).  Both sides of each limit, on the dgrad dY·W. */
static void reads_b_in_place_only_for_short_products_with_close_rows(void **state)
{
    (void)state;
    bool any = false;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        const fz_sgemm_kernel *kern = sgemm_kernel_for(isas[i]);
        if (!kern || !kern->b_in_place_rows)
            continue;
        any = true;
        size_t rows = kern->b_in_place_rows, nr = kern->nr;
        struct { size_t m, n, ldb; fz_trans tb; bool hook, in_place; } cases[] = {
            { 256, 1024, 1024, FZ_NOTRANS, false, true },
            { 256, 2048, 2048, FZ_NOTRANS, false, true },       /* 8 KiB: the widest */
            { 256, 2049, 2049, FZ_NOTRANS, false, false },
            { 256, 4096, 4096, FZ_NOTRANS, false, false },
            { 256, 1000, 4096, FZ_NOTRANS, false, false },      /* the stride counts */
            { rows, 1024, 1024, FZ_NOTRANS, false, true },
            { rows + 1, 1024, 1024, FZ_NOTRANS, false, false },
            { 256, 1024, 1024, FZ_TRANS, false, false },
            { 256, 1024, 1024, FZ_NOTRANS, true, false },
            { 256, nr, nr, FZ_NOTRANS, false, false },           /* A read in place */
        };
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            fz_tile_hook hook = { 0 };
            fz_gemm_op op = { .ta = FZ_NOTRANS, .tb = cases[c].tb, .m = cases[c].m,
                              .n = cases[c].n, .k = 512, .ldb = cases[c].ldb,
                              .after_tile = cases[c].hook ? &hook : NULL };
            if (sgemm_blocked_reads_b_in_place(kern, &op) != cases[c].in_place)
                fail_msg("%s: case %zu (%zu rows, ldb %zu): in place is %d", isas[i], c,
                         cases[c].m, cases[c].ldb, !cases[c].in_place);
        }
    }
    if (!any)
        skip();   /* no kernel here reads B in place (AVX-512 only) */
}

/* A product whose C does not fit in half the L2 takes deeper K blocks (blocking.h), so
 * its pack must be made for its shape: one made for a single row of the same B has the
 * shallow KC and is not read (the result is the on-the-fly one), one made for the
 * product is, bitwise, on 1 and 2 threads; and the deep-blocked product agrees with the
 * scalar reference. */
static void deep_k_blocks_need_a_pack_made_for_the_product(void **state)
{
    (void)state;
    enum { DM = 70, DN = 300, DK = 517 };
    int ran = 0;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        const fz_sgemm_kernel *kern = sgemm_kernel_for(isas[i]);
        if (!kern)
            continue;
        ran++;
        fz_gemm_ctx one = small_caches(1, 1);   /* C (84 KB) > half the L2 (32 KB) */
        size_t shallow = sgemm_blocking(kern, &one).kc;
        assert_true(sgemm_blocking_for(kern, &one, DM, DN).kc > shallow);
        assert_int_equal(sgemm_blocking_for(kern, &one, 1, DN).kc, shallow);

        float *a = rand_floats(DM * DK), *b = rand_floats(DN * DK);
        float *c0 = malloc(DM * DN * sizeof *c0), *c1 = malloc(DM * DN * sizeof *c1);
        float *ref = malloc(DM * DN * sizeof *ref);
        assert_true(c0 && c1 && ref);
        fz_gemm_op op = { .ta = FZ_NOTRANS, .tb = FZ_TRANS, .m = DM, .n = DN, .k = DK,
                          .alpha = 1.0f, .a = a, .lda = DK, .b = b, .ldb = DK, .c = ref,
                          .ldc = DN };
        kernels_scalar()->sgemm_ctx(&op, NULL, NULL);
        op.c = c0;
        sgemm_run(kern, &op, &one, NULL);
        for (size_t x = 0; x < DM * DN; x++)
            if (fabsf(c0[x] - ref[x]) > 1e-3f * (1.0f + fabsf(ref[x])))
                fail_msg("%s: C[%zu] %g, reference %g", kern->name, x, (double)c0[x],
                         (double)ref[x]);

        fz_gemm_op row = op;
        row.m = 1;
        fz_sgemm_packed *shallow_pack = sgemm_prepack_b(kern, &row, &one);
        assert_non_null(shallow_pack);
        assert_false(sgemm_packed_fits(shallow_pack, kern, &op, &one));
        op.c = c1;
        sgemm_run_prepacked(kern, &op, shallow_pack, &one, NULL);
        assert_memory_equal(c0, c1, DM * DN * sizeof *c0);
        sgemm_packed_free(shallow_pack);
        free(a); free(b); free(c0); free(c1); free(ref);

        for (int threads = 1; threads <= 2; threads++) {
            fz_gemm_ctx ctx = small_caches(threads, 1);
            for (int epi = 0; epi < 4; epi++)
                check_one(kern, &ctx, FZ_NOTRANS, FZ_TRANS, DM, DN, DK, epi);
        }
    }
    if (!ran)
        skip();   /* a build or CPU with no microkernel: only the scalar reference */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prepacked_gemm_equals_on_the_fly_bitwise),
        cmocka_unit_test(stale_pack_is_not_used),
        cmocka_unit_test(reads_packed_b_only_where_the_loop_nest_reads_it),
        cmocka_unit_test(reads_b_in_place_only_for_short_products_with_close_rows),
        cmocka_unit_test(deep_k_blocks_need_a_pack_made_for_the_product),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
