/* The public GEMM: argument checks, then the dispatch table's kernel. */
#include "error.h"
#include "kernels.h"

void fz_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb,
              float beta, float *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    /* No status to return (the signature is BLAS's), but bad input must not crash:
     * refuse, write nothing, and leave the message.  A and B are read only when k > 0. */
    const char *missing = !c ? "c" : k && !a ? "a" : k && !b ? "b" : NULL;
    if (missing) {
        fz_set_error(FZ_EINVAL, "fz_sgemm: %s is NULL (m %zu, n %zu, k %zu); C left as it "
                     "was", missing, m, n, k);
        return;
    }
    fz_gemm_op op = {
        .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha,
        .a = a, .lda = lda, .b = b, .ldb = ldb, .beta = beta, .c = c, .ldc = ldc,
    };
    fz_kernels_get()->sgemm(&op, NULL);
}
