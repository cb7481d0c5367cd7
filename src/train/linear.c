/*
 * One Linear layer forward and backward.  This is the only file that builds the layer
 * GEMMs; the trainer decides which of them run by what it passes (linear.h).
 */
#include "linear.h"
#include "parallel.h"
#include "team.h"

void linear_forward(const fz_kernels *k, const fz_linear *layer, size_t batch,
                    const float *X, float *Y, bool relu, fz_counter *flops)
{
    fz_gemm_op op = {
        .ta = FZ_NOTRANS, .tb = FZ_TRANS, .m = batch, .n = layer->out, .k = layer->in,
        .alpha = 1.0f, .a = X, .lda = layer->in, .b = layer->W, .ldb = layer->in,
        .beta = 0.0f, .c = Y, .ldc = layer->out, .bias = layer->b, .relu = relu,
    };
    k->sgemm(&op, flops);
}

/* Thread ith's share of the column sums.  Each column still sums its rows in order, so
 * db is the same for any thread count. */
static void colsum_slice(const fz_kernels *k, float *db, const float *dy, size_t m,
                         size_t n, size_t ld, fz_counter *cnt, int ith, int nth)
{
    fz_range r = fz_split(n, ith, nth);
    if (r.end > r.begin)
        k->colsum(db + r.begin, dy + r.begin, m, r.end - r.begin, ld, cnt);
}

/* db = column sums of an m×n dY, the columns split over the team. */
static void colsum_team(const fz_kernels *k, float *db, const float *dy, size_t m, size_t n,
                        size_t ld, fz_counter *cnt)
{
    int nth = fz_threads_for(m * n, fz_team_get()->threads);
    /* No region at all for one thread: even an inactive one costs libgomp a team
     * allocation, a visible share of a small network's step. */
    if (nth <= 1) {
        colsum_slice(k, db, dy, m, n, ld, cnt, 0, 1);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nth)
    colsum_slice(k, db, dy, m, n, ld, cnt, fz_thread_num(), fz_thread_count());
#endif
}

void linear_backward(const fz_kernels *k, const fz_linear *layer, size_t batch,
                     const float *X, const float *dY, bool relu_below,
                     float *dW, float *db, float *dX,
                     fz_counter *wgrad, fz_counter *dgrad)
{
    size_t I = layer->in, O = layer->out;
    if (dW) {
        fz_gemm_op op = {
            .ta = FZ_TRANS, .tb = FZ_NOTRANS, .m = O, .n = I, .k = batch, .alpha = 1.0f,
            .a = dY, .lda = O, .b = X, .ldb = I, .beta = 0.0f, .c = dW, .ldc = I,
        };
        k->sgemm(&op, wgrad);
    }
    if (db)
        colsum_team(k, db, dY, batch, O, O, wgrad);
    if (dX) {
        /* The mask is the ReLU's own output, positive exactly where its gradient passes. */
        fz_gemm_op op = {
            .ta = FZ_NOTRANS, .tb = FZ_NOTRANS, .m = batch, .n = I, .k = O, .alpha = 1.0f,
            .a = dY, .lda = O, .b = layer->W, .ldb = I, .beta = 0.0f, .c = dX, .ldc = I,
            .mask = relu_below ? X : NULL, .ldmask = I,
        };
        k->sgemm(&op, dgrad);
    }
}
