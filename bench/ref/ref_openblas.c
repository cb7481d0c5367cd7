#include <cblas.h>

#include "ref_blas.h"

void fzb_openblas_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
                        const float *a, size_t lda, const float *b, size_t ldb, float beta,
                        float *c, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta == FZ_TRANS ? CblasTrans : CblasNoTrans,
                tb == FZ_TRANS ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha,
                a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void fzb_openblas_set_threads(int n) { openblas_set_num_threads(n); }
