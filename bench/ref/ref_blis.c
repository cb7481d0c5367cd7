#include <blis.h>

#include "ref_blas.h"

void fzb_blis_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
                    const float *a, size_t lda, const float *b, size_t ldb, float beta,
                    float *c, size_t ldc)
{
    /* Row-major is a row stride of ld and a column stride of 1: BLIS takes both. */
    bli_sgemm(ta == FZ_TRANS ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
              tb == FZ_TRANS ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n,
              (dim_t)k, &alpha, (float *)a, (inc_t)lda, 1, (float *)b, (inc_t)ldb, 1, &beta,
              c, (inc_t)ldc, 1);
}

void fzb_blis_set_threads(int n) { bli_thread_set_num_threads(n); }
