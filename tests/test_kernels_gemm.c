/*
 * Each ISA's GEMM against the scalar reference: shapes around every block size, all
 * four transpose combinations, alpha/beta, every epilogue, padded and misaligned
 * operands, large K, NaN in an unread C, and the FLOP counts.  An ISA this build or CPU
 * lacks is skipped, visibly.
 *
 * Error bound: both the reference and the ISA sum k products in float, each within
 * k·(eps/2)·sum|a·b| of the exact dot product (Higham's gamma_k), so the two may differ
 * by k·eps·sum|a·b|; alpha, beta and the bias add a few roundings more:
 *   |c_isa - c_ref| <= (k + 4)·eps·(|alpha|·sum_p |a_ip·b_pj| + |beta·c_ij| + |bias_j|).
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "kernels.h"
#include "rng.h"
#include "gemm.h"
#include "isa_testutil.h"

#define SENTINEL 12345.0f

static fz_rng rng = { 88172645463325252ull };

static float uniform(void) { return rng_uniform(&rng, -1.0f, 1.0f); }

/* A matrix of rows×cols inside a larger allocation: leading dimension cols + pad, and
 * the first element one float past a 64-byte boundary when misaligned. */
typedef struct {
    float *base, *p;
    size_t rows, cols, ld, total;
} mat;

static mat mat_new(size_t rows, size_t cols, size_t pad, bool misaligned)
{
    mat x = { .rows = rows, .cols = cols, .ld = cols + pad };
    x.total = rows * x.ld + 16;
    x.base = aligned_alloc(64, (x.total * sizeof(float) + 63) / 64 * 64);
    assert_non_null(x.base);
    x.p = x.base + (misaligned ? 1 : 0);
    for (size_t i = 0; i < x.total; i++)
        x.base[i] = SENTINEL;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            x.p[r * x.ld + c] = uniform();
    return x;
}

static float *mat_copy(const mat *x)
{
    float *c = malloc(x->total * sizeof(float));
    assert_non_null(c);
    memcpy(c, x->base, x->total * sizeof(float));
    return c;
}

enum { EP_BIAS = 1, EP_RELU = 2, EP_MASK = 4, EP_ALL = 7 };

typedef struct {
    size_t m, n, k;
    fz_trans ta, tb;
    float alpha, beta;
    unsigned ep;
    size_t pad;        /* extra leading dimension on every operand */
    bool misaligned;   /* every operand one float off alignment */
    bool nan_c;        /* C starts as NaN (only meaningful with beta == 0) */
} gemm_case;

/* Runs the case with the scalar table and with `k`, and checks the results agree within
 * the bound above, that nothing outside C changed, and that the FLOP counts agree. */
static void check_case(const fz_kernels *isa, const gemm_case *g)
{
    mat a = g->ta == FZ_NOTRANS ? mat_new(g->m, g->k, g->pad, g->misaligned)
                                : mat_new(g->k, g->m, g->pad, g->misaligned);
    mat b = g->tb == FZ_NOTRANS ? mat_new(g->k, g->n, g->pad, g->misaligned)
                                : mat_new(g->n, g->k, g->pad, g->misaligned);
    mat c = mat_new(g->m, g->n, g->pad, g->misaligned);
    mat mask = mat_new(g->m, g->n, g->pad, g->misaligned);
    mat bias = mat_new(1, g->n, 0, g->misaligned);
    if (g->nan_c)
        for (size_t i = 0; i < g->m; i++)
            for (size_t j = 0; j < g->n; j++)
                c.p[i * c.ld + j] = NAN;
    float *c_ref = mat_copy(&c), *c_isa = mat_copy(&c);
    size_t off = (size_t)(c.p - c.base);

    fz_gemm_op op = {
        .ta = g->ta, .tb = g->tb, .m = g->m, .n = g->n, .k = g->k, .alpha = g->alpha,
        .a = a.p, .lda = a.ld, .b = b.p, .ldb = b.ld, .beta = g->beta, .ldc = c.ld,
        .bias = g->ep & EP_BIAS ? bias.p : NULL, .relu = g->ep & EP_RELU,
        .mask = g->ep & EP_MASK ? mask.p : NULL, .ldmask = mask.ld,
    };
    fz_counter *f_ref = calloc(1, sizeof *f_ref), *f_isa = calloc(1, sizeof *f_isa);
    assert_non_null(f_ref);
    assert_non_null(f_isa);
    op.c = c_ref + off;
    kernels_scalar()->sgemm_ctx(&op, NULL, f_ref);
    op.c = c_isa + off;
    isa->sgemm_ctx(&op, NULL, f_isa);
    assert_int_equal(counter_total(f_isa), counter_total(f_ref));

    for (size_t i = 0; i < g->m; i++) {
        for (size_t j = 0; j < g->n; j++) {
            double s = 0.0;
            for (size_t p = 0; p < g->k; p++) {
                float x = g->ta == FZ_NOTRANS ? a.p[i * a.ld + p] : a.p[p * a.ld + i];
                float y = g->tb == FZ_NOTRANS ? b.p[p * b.ld + j] : b.p[j * b.ld + p];
                s += fabs((double)x * y);
            }
            double c0 = g->beta != 0.0f ? fabs((double)g->beta * c.p[i * c.ld + j]) : 0.0;
            double bound = (g->k + 4) * (double)FLT_EPSILON *
                           (fabs(g->alpha) * s + c0 + (op.bias ? fabs(bias.p[j]) : 0.0));
            float r = c_ref[off + i * c.ld + j], v = c_isa[off + i * c.ld + j];
            assert_false(isnan(r));
            assert_false(isnan(v));
            if (!(fabs((double)v - r) <= bound))
                fail_msg("C[%zu][%zu] = %.9g, reference %.9g, bound %.3g "
                         "(m %zu n %zu k %zu ta %d tb %d alpha %g beta %g ep %u)",
                         i, j, v, r, bound, g->m, g->n, g->k, g->ta, g->tb,
                         (double)g->alpha, (double)g->beta, g->ep);
        }
    }
    /* Padding, the bytes before C and after it: untouched (masked edge stores). */
    for (size_t x = 0; x < c.total; x++) {
        size_t rel = x - off;
        bool inside = x >= off && rel / c.ld < g->m && rel % c.ld < g->n;
        if (!inside && c_isa[x] != SENTINEL)
            fail_msg("wrote outside C at offset %zd (m %zu n %zu k %zu)",
                     (ptrdiff_t)x - (ptrdiff_t)off, g->m, g->n, g->k);
    }
    free(f_ref);
    free(f_isa);
    free(c_ref);
    free(c_isa);
    free(a.base);
    free(b.base);
    free(c.base);
    free(mask.base);
    free(bias.base);
}

static const fz_kernels *isa_or_skip(void **state, const fz_sgemm_kernel **kern)
{
    const char *name = *state;
    const fz_kernels *k = isa_table_or_skip(state);
    *kern = sgemm_kernel_for(name);
    assert_non_null(*kern);
    return k;
}

static const fz_trans trans[2] = { FZ_NOTRANS, FZ_TRANS };

/* Sizes 1, primes, and just below/at/above MR, NR, KC and MC, padded and misaligned. */
static void gemm_matches_scalar_around_block_sizes(void **state)
{
    const fz_sgemm_kernel *kern;
    const fz_kernels *isa = isa_or_skip(state, &kern);
    /* The tables of kernels_for run without a plan: default caches. */
    fz_blocking blk = sgemm_blocking(kern, NULL);
    size_t kc = blk.kc, mc = blk.mc;
    const size_t ms[] = { 1, kern->mr - 1, kern->mr, kern->mr + 1, 13, mc - 1, mc, mc + 1 };
    /* 23 and NR + 23: an edge tile between one and two 16-float vectors wide, which a
     * wide kernel computes in a narrower variant. */
    const size_t ns[] = { 1, 23, kern->nr - 1, kern->nr, kern->nr + 1, kern->nr + 23, 37 };
    const size_t ks[] = { 1, 7, kc - 1, kc, kc + 1 };
    for (size_t t = 0; t < 4; t++)
        for (size_t im = 0; im < sizeof ms / sizeof *ms; im++)
            for (size_t in = 0; in < sizeof ns / sizeof *ns; in++)
                for (size_t ik = 0; ik < sizeof ks / sizeof *ks; ik++) {
                    gemm_case g = { .m = ms[im], .n = ns[in], .k = ks[ik],
                                    .ta = trans[t & 1], .tb = trans[t >> 1],
                                    .alpha = 1.0f, .beta = 0.0f, .pad = 3,
                                    .misaligned = true };
                    check_case(isa, &g);
                }
}

/* The last row tile of every height, from one row to MR - 1, on products large enough
 * for the blocked path (m·n·k above its small-product limit), where A is packed and a
 * short edge tile computes only the rows it has (2 or 4 of them, packed_edge_rows):
 * whole panels of B and a narrower edge panel, two K blocks (beta 1 on the second),
 * every transpose (B read in place or packed), with and without the epilogue. */
static void gemm_matches_scalar_for_every_edge_row_count(void **state)
{
    const fz_sgemm_kernel *kern;
    const fz_kernels *isa = isa_or_skip(state, &kern);
    fz_blocking blk = sgemm_blocking(kern, NULL);
    const size_t ns[] = { 2 * kern->nr, kern->nr + 23 };
    for (size_t rows = 1; rows < kern->mr; rows++)
        for (size_t t = 0; t < 4; t++)
            for (size_t in = 0; in < 2; in++)
                for (unsigned ep = 0; ep <= EP_ALL; ep += EP_ALL) {
                    gemm_case g = { .m = 4 * kern->mr + rows, .n = ns[in],
                                    .k = 2 * blk.kc + 9, .ta = trans[t & 1],
                                    .tb = trans[t >> 1], .alpha = 1.0f, .beta = 0.0f,
                                    .ep = ep, .pad = 3, .misaligned = rows % 2 };
                    check_case(isa, &g);
                }
}

/* N just below/at/above NC: the NC loop's edge (thin in M and K to stay quick). */
static void gemm_matches_scalar_around_nc(void **state)
{
    const fz_sgemm_kernel *kern;
    const fz_kernels *isa = isa_or_skip(state, &kern);
    /* The tables of kernels_for run without a plan: default caches. */
    fz_blocking blk = sgemm_blocking(kern, NULL);
    size_t kc = blk.kc, nc = blk.nc;
    const size_t ns[] = { nc - 1, nc, nc + 1 };
    for (size_t t = 0; t < 4; t++)
        for (size_t in = 0; in < 3; in++) {
            gemm_case g = { .m = kern->mr + 1, .n = ns[in], .k = kc + 3,
                            .ta = trans[t & 1], .tb = trans[t >> 1], .alpha = -0.5f,
                            .beta = 1.0f, .ep = EP_ALL, .pad = 1, .misaligned = true };
            check_case(isa, &g);
        }
}

/* alpha, beta in {0, 1, -0.5} × every epilogue × all transposes, on small-path shapes
 * (one wide, three tall and narrow, which a kernel may store transposed, the last with
 * an edge tile of 23 lanes) and on a blocked shape with two K blocks (beta only on the
 * first, the epilogue only on the last). */
static void gemm_matches_scalar_for_every_alpha_beta_epilogue(void **state)
{
    const fz_sgemm_kernel *kern;
    const fz_kernels *isa = isa_or_skip(state, &kern);
    /* The tables of kernels_for run without a plan: default caches. */
    fz_blocking blk = sgemm_blocking(kern, NULL);
    size_t kc = blk.kc;
    const float ab[] = { 0.0f, 1.0f, -0.5f };
    const unsigned eps[] = { 0, EP_BIAS, EP_RELU, EP_BIAS | EP_RELU, EP_MASK, EP_ALL };
    const size_t shapes[5][3] = { { 13, 37, 7 }, { 2 * kern->nr + 3, kern->mr - 1, 7 },
                                  { kern->nr + 1, 1, 3 }, { kern->nr + 23, 2, 5 },
                                  { 2 * kern->mr + 3, 2 * kern->nr + 5, kc + 9 } };
    for (size_t s = 0; s < 5; s++)
        for (size_t t = 0; t < 4; t++)
            for (size_t ia = 0; ia < 3; ia++)
                for (size_t ib = 0; ib < 3; ib++)
                    for (size_t ie = 0; ie < sizeof eps / sizeof *eps; ie++) {
                        gemm_case g = { .m = shapes[s][0], .n = shapes[s][1],
                                        .k = shapes[s][2], .ta = trans[t & 1],
                                        .tb = trans[t >> 1], .alpha = ab[ia],
                                        .beta = ab[ib], .ep = eps[ie] };
                        check_case(isa, &g);
                    }
}

/* beta == 0 means C is not read: NaN there must not reach the result. */
static void gemm_beta_zero_ignores_nan_in_c(void **state)
{
    const fz_sgemm_kernel *kern;
    const fz_kernels *isa = isa_or_skip(state, &kern);
    /* The tables of kernels_for run without a plan: default caches. */
    fz_blocking blk = sgemm_blocking(kern, NULL);
    size_t kc = blk.kc, mc = blk.mc;
    const size_t shapes[3][3] = { { 5, 9, 3 }, { mc + 1, kern->nr + 1, kc + 1 }, { 3, 4, 0 } };
    for (size_t s = 0; s < 3; s++)
        for (unsigned ep = 0; ep <= EP_ALL; ep += EP_ALL) {
            gemm_case g = { .m = shapes[s][0], .n = shapes[s][1], .k = shapes[s][2],
                            .alpha = 1.0f, .beta = 0.0f, .ep = ep, .nan_c = true };
            check_case(isa, &g);
        }
}

/* k == 0: C = beta·C and the epilogue, as in BLAS. */
static void gemm_k_zero_scales_c_only(void **state)
{
    const fz_sgemm_kernel *kern;
    const fz_kernels *isa = isa_or_skip(state, &kern);
    for (unsigned ep = 0; ep <= EP_ALL; ep++) {
        gemm_case g = { .m = 7, .n = 19, .k = 0, .alpha = 1.0f, .beta = -0.5f, .ep = ep,
                        .pad = 2, .misaligned = true };
        check_case(isa, &g);
    }
}

/* Large K: both results stay within the documented bound of the exact (double) dot
 * product, |c - exact| <= k·(eps/2)·sum|a·b| each — the bound grows with K. */
static void gemm_large_k_stays_within_k_eps_bound(void **state)
{
    const fz_sgemm_kernel *kern;
    const fz_kernels *isa = isa_or_skip(state, &kern);
    const size_t m = 3, n = kern->nr + 3, k = 20000;
    for (size_t t = 0; t < 4; t++) {
        gemm_case g = { .m = m, .n = n, .k = k, .ta = trans[t & 1], .tb = trans[t >> 1],
                        .alpha = 1.0f };
        check_case(isa, &g);   /* against the reference, within (k + 4)·eps·sum|ab| */
    }
    float *a = malloc(m * k * sizeof(float)), *b = malloc(k * n * sizeof(float)),
          *c = malloc(m * n * sizeof(float));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    for (size_t i = 0; i < m * k; i++)
        a[i] = uniform();
    for (size_t i = 0; i < k * n; i++)
        b[i] = uniform();
    fz_gemm_op op = { .m = m, .n = n, .k = k, .alpha = 1.0f, .a = a, .lda = k, .b = b,
                      .ldb = n, .c = c, .ldc = n };
    isa->sgemm_ctx(&op, NULL, NULL);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double exact = 0.0, s = 0.0;
            for (size_t p = 0; p < k; p++) {
                exact += (double)a[i * k + p] * b[p * n + j];
                s += fabs((double)a[i * k + p] * b[p * n + j]);
            }
            assert_true(fabs(c[i * n + j] - exact) <= k * 0.5 * FLT_EPSILON * s);
        }
    free(a);
    free(b);
    free(c);
}

/* A transposed A whose leading dimension equals MR has a packed panel's strides; the
 * small path must not hand it to the microkernel as one, which would read MR rows of
 * every column when C has fewer.  A ends right before an inaccessible page, so a read
 * past its last element faults in any build. */
static void gemm_unpacked_a_with_panel_strides_reads_only_a(void **state)
{
    const fz_sgemm_kernel *kern;
    const fz_kernels *isa = isa_or_skip(state, &kern);
    const size_t m = kern->mr - 3, n = 5, k = 11, lda = kern->mr;
    const size_t a_floats = (k - 1) * lda + m;   /* the least storage op(A) needs */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = (a_floats * sizeof(float) + page - 1) / page * page;
    char *map = mmap(NULL, bytes + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + bytes, page, PROT_NONE), 0);
    float *a = (float *)(map + bytes) - a_floats;
    float b[11 * 5], c[16 * 5], ref[16 * 5];   /* m < MR <= 16 */
    assert_true(m <= 16);
    for (size_t i = 0; i < a_floats; i++)
        a[i] = uniform();
    for (size_t i = 0; i < k * n; i++)
        b[i] = uniform();
    fz_gemm_op op = { .ta = FZ_TRANS, .m = m, .n = n, .k = k, .alpha = 1.0f, .a = a,
                      .lda = lda, .b = b, .ldb = n, .ldc = n };
    op.c = ref;
    kernels_scalar()->sgemm_ctx(&op, NULL, NULL);
    op.c = c;
    isa->sgemm_ctx(&op, NULL, NULL);
    for (size_t i = 0; i < m * n; i++)
        assert_true(fabsf(c[i] - ref[i]) <= (k + 4) * FLT_EPSILON * 16.0f);
    munmap(map, bytes + page);
}

/* The blocking in use is whole tiles, and the kernel names its ISA and tile. */
static void gemm_blocking_is_whole_tiles(void **state)
{
    const fz_sgemm_kernel *kern;
    isa_or_skip(state, &kern);
    /* The tables of kernels_for run without a plan: default caches. */
    fz_blocking blk = sgemm_blocking(kern, NULL);
    size_t kc = blk.kc, mc = blk.mc, nc = blk.nc;
    assert_true(kc >= 1);
    assert_int_equal(mc % kern->mr, 0);
    assert_int_equal(nc % kern->nr, 0);
    assert_non_null(strstr(kern->name, (const char *)*state));
}

#define ISA_TESTS(isa)                                                 \
    ISA_TEST(isa, gemm_blocking_is_whole_tiles),                       \
    ISA_TEST(isa, gemm_matches_scalar_around_block_sizes),             \
    ISA_TEST(isa, gemm_matches_scalar_around_nc),                      \
    ISA_TEST(isa, gemm_matches_scalar_for_every_edge_row_count),       \
    ISA_TEST(isa, gemm_matches_scalar_for_every_alpha_beta_epilogue),  \
    ISA_TEST(isa, gemm_beta_zero_ignores_nan_in_c),                    \
    ISA_TEST(isa, gemm_k_zero_scales_c_only),                          \
    ISA_TEST(isa, gemm_unpacked_a_with_panel_strides_reads_only_a),    \
    ISA_TEST(isa, gemm_large_k_stays_within_k_eps_bound)

int main(void)
{
    const struct CMUnitTest tests[] = { ISA_TESTS("avx2"), ISA_TESTS("avx512"),
                                        ISA_TESTS("neon") };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
