/* The public GEMM: argument checks, the BLAS special cases, then the GEMM of the table
 * in use with the team's plan (exec.h). */
#include "error.h"
#include "exec.h"

/* C = beta·C on m×n, for the calls whose product term is zero (k == 0 or alpha == 0).
 * BLAS does not read A or B then, so a NaN or an infinity in them cannot reach C; and
 * with beta == 0, C is not read either (it may hold NaNs). */
static void scale_c(size_t m, size_t n, float beta, float *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

void fz_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb,
              float beta, float *c, size_t ldc)
{
    /* No status to return (the signature is BLAS's), but bad input must not crash:
     * refuse, write nothing, and leave the message.  The checks come before the m/n == 0
     * shortcut, as in BLAS's xerbla, so a wrong call is reported even when it is empty. */
    if ((ta != FZ_NOTRANS && ta != FZ_TRANS) || (tb != FZ_NOTRANS && tb != FZ_TRANS)) {
        set_error(FZ_EINVAL, "fz_sgemm: transpose flag %s is %d, not FZ_NOTRANS (0) or "
                  "FZ_TRANS (1); C left as it was", ta != FZ_NOTRANS && ta != FZ_TRANS
                  ? "ta" : "tb", ta != FZ_NOTRANS && ta != FZ_TRANS ? (int)ta : (int)tb);
        return;
    }
    /* Row-major: a row of op(A) is k wide (A stored m×k), or A is stored k×m; the same
     * for B (k×n or n×k) and C (m×n). */
    size_t a_cols = ta == FZ_NOTRANS ? k : m, b_cols = tb == FZ_NOTRANS ? n : k;
    const char *bad_ld = lda < a_cols ? "lda" : ldb < b_cols ? "ldb" : ldc < n ? "ldc" : NULL;
    if (bad_ld) {
        size_t got = lda < a_cols ? lda : ldb < b_cols ? ldb : ldc;
        size_t need = lda < a_cols ? a_cols : ldb < b_cols ? b_cols : n;
        set_error(FZ_EINVAL, "fz_sgemm: %s is %zu, less than the %zu columns of its "
                  "row-major matrix (m %zu, n %zu, k %zu); C left as it was", bad_ld, got,
                  need, m, n, k);
        return;
    }
    if (m == 0 || n == 0)
        return;
    /* A and B are read only when the product term counts (k > 0 and alpha != 0). */
    bool product = k > 0 && alpha != 0.0f;
    const char *missing = !c ? "c" : product && !a ? "a" : product && !b ? "b" : NULL;
    if (missing) {
        set_error(FZ_EINVAL, "fz_sgemm: %s is NULL (m %zu, n %zu, k %zu); C left as it "
                  "was", missing, m, n, k);
        return;
    }
    if (!product) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    fz_gemm_op op = {
        .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha,
        .a = a, .lda = lda, .b = b, .ldb = ldb, .beta = beta, .c = c, .ldc = ldc,
    };
    fz_exec ex = exec_now(NULL, NULL);
    exec_gemm(&ex, &op, NULL, NULL);
}
