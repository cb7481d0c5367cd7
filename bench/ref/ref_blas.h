/*
 * The reference BLAS libraries kernel_bench runs side by side with fz_sgemm, each behind
 * its own file: OpenBLAS's cblas.h and BLIS's blis.h declare the same CBLAS names, so no
 * file sees both.  OpenBLAS is reached through cblas_sgemm, BLIS through its own typed
 * API (bli_sgemm), which also keeps the two libraries' cblas_sgemm symbols apart, and
 * oneDNN through dnnl_sgemm (row-major, int64 dimensions; it has no CBLAS names).
 */
#ifndef FZB_REF_BLAS_H
#define FZB_REF_BLAS_H

#include <stddef.h>

#include "freezebench.h"

typedef void (*fzb_ref_sgemm)(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k,
                              float alpha, const float *a, size_t lda, const float *b,
                              size_t ldb, float beta, float *c, size_t ldc);

void fzb_openblas_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
                        const float *a, size_t lda, const float *b, size_t ldb, float beta,
                        float *c, size_t ldc);
void fzb_openblas_set_threads(int n);

void fzb_blis_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
                    const float *a, size_t lda, const float *b, size_t ldb, float beta,
                    float *c, size_t ldc);
void fzb_blis_set_threads(int n);

void fzb_onednn_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda, const float *b, size_t ldb, float beta,
                      float *c, size_t ldc);
void fzb_onednn_set_threads(int n);

#endif
