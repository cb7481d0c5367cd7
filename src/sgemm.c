/* The public GEMM: argument checks, then the dispatch table's kernel. */
#include "kernels.h"

void fz_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb,
              float beta, float *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    fz_gemm_op op = {
        .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha,
        .a = a, .lda = lda, .b = b, .ldb = ldb, .beta = beta, .c = c, .ldc = ldc,
    };
    fz_kernels_get()->sgemm(&op, NULL);
}
