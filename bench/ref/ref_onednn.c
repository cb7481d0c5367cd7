#include <stdio.h>
#include <stdlib.h>

#include <oneapi/dnnl/dnnl.h>

#include "ref_blas.h"

/* oneDNN sizes its threads from the threading runtime it was built with, and has no call
 * of its own to set them under OpenMP (dnnl_threadpool_interop_* is for the threadpool
 * runtime only): Debian's is built on OpenMP, so the count is OpenMP's.  A build on
 * another runtime would silently run at its own count, so it is refused here. */
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#else
#error "oneDNN's threads are set through OpenMP here; this oneDNN uses another runtime"
#endif

void fzb_onednn_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda, const float *b, size_t ldb, float beta,
                      float *c, size_t ldc)
{
    /* dnnl_sgemm is row-major already, with BLAS-style 'N'/'T' characters. */
    dnnl_status_t s = dnnl_sgemm(ta == FZ_TRANS ? 'T' : 'N', tb == FZ_TRANS ? 'T' : 'N',
                                 (dnnl_dim_t)m, (dnnl_dim_t)n, (dnnl_dim_t)k, alpha, a,
                                 (dnnl_dim_t)lda, b, (dnnl_dim_t)ldb, beta, c,
                                 (dnnl_dim_t)ldc);
    /* The other references cannot fail on valid arguments; this one returns a status, and
     * a timing of a call that did nothing must never reach a CSV. */
    if (s != dnnl_success) {
        fprintf(stderr, "fzb_onednn_sgemm: dnnl_sgemm failed (status %d)\n", (int)s);
        abort();
    }
}

void fzb_onednn_set_threads(int n) { omp_set_num_threads(n); }
