/*
 * The reference GEMMs kernel_bench times beside fz_sgemm (bench/ref/ref_*.c: OpenBLAS, BLIS,
 * oneDNN) compute the same product: a wrapper that swapped a transpose, a leading
 * dimension or row- for column-major would still be fast, and kernel_bench would compare
 * fz_sgemm with a different product.  Each reference and fz_sgemm itself are checked
 * against a triple loop in double on small shapes (a one-row and a one-column product,
 * odd sizes, one past the common tile sizes), all four transposes, alpha/beta, and
 * leading dimensions above the minimum, whose padding must be left alone.  A library this
 * build did not find is a visible SKIPPED test, not a pass.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "freezebench.h"
#include "ref_blas.h"
#include "rng.h"

typedef struct { size_t m, n, k; } shape;
static const shape shapes[] = {
    { 1, 1, 1 }, { 1, 37, 19 }, { 23, 1, 31 }, { 7, 5, 3 }, { 17, 33, 65 },
    { 64, 48, 32 }, { 97, 129, 70 }, { 200, 150, 257 },
};
/* Padding past each row, so a wrapper that passes the minimum instead of ld is caught. */
enum { PAD = 3 };
static const float padding = -12345.0f;

static fz_rng rng = { 0x9e3779b97f4a7c15ull };

static float uniform(void) { return rng_uniform(&rng, -0.5f, 0.5f); }

static float *filled(size_t rows, size_t ld, size_t cols)
{
    float *x = malloc((rows * ld > 0 ? rows * ld : 1) * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < ld; j++)
            x[i * ld + j] = j < cols ? uniform() : padding;
    return x;
}

/* Row-major element (i, j) of op(X) for X stored with leading dimension ld. */
static double at(const float *x, size_t ld, fz_trans t, size_t i, size_t j)
{
    return t == FZ_TRANS ? x[j * ld + i] : x[i * ld + j];
}

static void check_one(fzb_ref_sgemm gemm, const char *name, fz_trans ta, fz_trans tb,
                      shape s, float alpha, float beta)
{
    /* op(A) is m×k: stored k×m when transposed; op(B) is k×n: stored n×k when transposed. */
    size_t a_rows = ta == FZ_TRANS ? s.k : s.m, a_cols = ta == FZ_TRANS ? s.m : s.k;
    size_t b_rows = tb == FZ_TRANS ? s.n : s.k, b_cols = tb == FZ_TRANS ? s.k : s.n;
    size_t lda = a_cols + PAD, ldb = b_cols + PAD, ldc = s.n + PAD;
    float *a = filled(a_rows, lda, a_cols);
    float *b = filled(b_rows, ldb, b_cols);
    float *c = filled(s.m, ldc, s.n);
    float *c0 = malloc(s.m * ldc * sizeof *c0);
    assert_non_null(c0);
    for (size_t i = 0; i < s.m * ldc; i++)
        c0[i] = c[i];

    gemm(ta, tb, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc);

    for (size_t i = 0; i < s.m; i++) {
        for (size_t j = 0; j < ldc; j++) {
            float got = c[i * ldc + j];
            if (j >= s.n) {
                if (got != padding)
                    fail_msg("%s ta=%d tb=%d %zux%zux%zu: padding of C at (%zu,%zu) written",
                             name, ta, tb, s.m, s.n, s.k, i, j);
                continue;
            }
            double sum = 0, mag = 0;
            for (size_t p = 0; p < s.k; p++) {
                double t = at(a, lda, ta, i, p) * at(b, ldb, tb, p, j);
                sum += t;
                mag += fabs(t);
            }
            double want = alpha * sum + (beta != 0 ? beta * c0[i * ldc + j] : 0);
            /* Float accumulation in any order: k roundings of at most eps each on the
             * magnitudes summed, with a factor for blocked partial sums and the FMA. */
            double tol = 4.0 * (double)(s.k + 2) * FLT_EPSILON *
                         (fabs(alpha) * mag + fabs(beta * c0[i * ldc + j])) + 1e-30;
            if (!(fabs(got - want) <= tol))
                fail_msg("%s ta=%d tb=%d %zux%zux%zu alpha=%g beta=%g: C(%zu,%zu) = %.9g, "
                         "want %.9g (tolerance %.3g)", name, ta, tb, s.m, s.n, s.k,
                         (double)alpha, (double)beta, i, j, (double)got, want, tol);
        }
    }
    free(a);
    free(b);
    free(c);
    free(c0);
}

static void check_grid(fzb_ref_sgemm gemm, const char *name)
{
    static const float ab[][2] = { { 1.0f, 0.0f }, { 1.5f, 0.5f }, { -0.75f, 1.0f } };
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
                for (size_t v = 0; v < sizeof ab / sizeof *ab; v++)
                    check_one(gemm, name, (fz_trans)ta, (fz_trans)tb, shapes[s], ab[v][0],
                              ab[v][1]);
}

/* fz_sgemm through the same checker: it shares the kernel_bench rows with the references,
 * and the checker is only trusted if it passes the library's own tested GEMM. */
static void freezebench_agrees(void **state)
{
    (void)state;
    fz_set_threads(1);
    check_grid(fz_sgemm, "freezebench");
}

static void openblas_agrees(void **state)
{
    (void)state;
#ifdef FZB_HAVE_OPENBLAS
    fzb_openblas_set_threads(1);
    check_grid(fzb_openblas_sgemm, "openblas");
#else
    print_message("OpenBLAS not built into this configuration (meson option openblas)\n");
    skip();
#endif
}

static void blis_agrees(void **state)
{
    (void)state;
#ifdef FZB_HAVE_BLIS
    fzb_blis_set_threads(1);
    check_grid(fzb_blis_sgemm, "blis");
#else
    print_message("BLIS not built into this configuration (meson option blis)\n");
    skip();
#endif
}

/* Twice: oneDNN partitions a product among its OpenMP threads, so the threaded path is
 * checked too (two threads: the machines this runs on may have only two cores). */
static void onednn_agrees(void **state)
{
    (void)state;
#ifdef FZB_HAVE_ONEDNN
    fzb_onednn_set_threads(1);
    check_grid(fzb_onednn_sgemm, "onednn");
    fzb_onednn_set_threads(2);
    check_grid(fzb_onednn_sgemm, "onednn (2 threads)");
#else
    print_message("oneDNN not built into this configuration (meson option onednn, Debian "
                  "libdnnl-dev)\n");
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(freezebench_agrees),
        cmocka_unit_test(openblas_agrees),
        cmocka_unit_test(blis_agrees),
        cmocka_unit_test(onednn_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
