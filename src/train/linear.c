/*
 * One Linear layer forward and backward.  This is the only file that builds the layer
 * GEMMs; the trainer decides which of them run by what it passes (linear.h).
 */
#include "linear.h"
#include "parallel.h"
#include "team.h"

/* The forward's GEMM, Y = X·Wᵀ (+ b, ReLU): W is its B operand, op(B) = Wᵀ. */
static fz_gemm_op forward_op(const fz_linear *layer, size_t batch, const float *X, float *Y,
                             bool relu)
{
    return (fz_gemm_op){
        .ta = FZ_NOTRANS, .tb = FZ_TRANS, .m = batch, .n = layer->out, .k = layer->in,
        .alpha = 1.0f, .a = X, .lda = layer->in, .b = layer->W, .ldb = layer->in,
        .beta = 0.0f, .c = Y, .ldc = layer->out, .bias = layer->b, .relu = relu,
    };
}

/* The dgrad GEMM, dX = dY·W (· ReLU mask): W is its B operand, op(B) = W. */
static fz_gemm_op dgrad_op(const fz_linear *layer, size_t batch, const float *X,
                           const float *dY, bool relu_below, float *dX)
{
    size_t I = layer->in, O = layer->out;
    return (fz_gemm_op){
        .ta = FZ_NOTRANS, .tb = FZ_NOTRANS, .m = batch, .n = I, .k = O, .alpha = 1.0f,
        .a = dY, .lda = O, .b = layer->W, .ldb = I, .beta = 0.0f, .c = dX, .ldc = I,
        .mask = relu_below ? X : NULL, .ldmask = I,
    };
}

/* A layer GEMM: with a pre-packed W, the GEMM of k's microkernel under the team's plan
 * (what k->sgemm runs for the runtime's table), reading W's panels from the pack. */
static void layer_gemm(const fz_kernels *k, const fz_gemm_op *op, const fz_sgemm_packed *pw,
                       fz_counter *flops)
{
    if (!pw || !k->microkernel) {
        k->sgemm(op, flops);
        return;
    }
    fz_gemm_ctx ctx = fz_team_gemm_ctx();
    fz_sgemm_run_prepacked(k->microkernel, op, pw, &ctx, flops);
}

fz_sgemm_packed *linear_pack_forward(const fz_kernels *k, const fz_linear *layer,
                                     size_t batch)
{
    if (!k->microkernel)
        return NULL;
    fz_gemm_op op = forward_op(layer, batch, NULL, NULL, false);
    fz_gemm_ctx ctx = fz_team_gemm_ctx();
    return fz_sgemm_prepack_b(k->microkernel, &op, &ctx);
}

fz_sgemm_packed *linear_pack_dgrad(const fz_kernels *k, const fz_linear *layer,
                                   size_t batch)
{
    if (!k->microkernel)
        return NULL;
    fz_gemm_op op = dgrad_op(layer, batch, NULL, NULL, false, NULL);
    fz_gemm_ctx ctx = fz_team_gemm_ctx();
    return fz_sgemm_prepack_b(k->microkernel, &op, &ctx);
}

bool linear_forward_reads_pack(const fz_kernels *k, const fz_linear *layer, size_t batch)
{
    fz_gemm_op op = forward_op(layer, batch, NULL, NULL, false);
    fz_gemm_ctx ctx = fz_team_gemm_ctx();
    return k->microkernel && fz_sgemm_reads_packed_b(k->microkernel, &op, &ctx);
}

bool linear_dgrad_reads_pack(const fz_kernels *k, const fz_linear *layer, size_t batch)
{
    fz_gemm_op op = dgrad_op(layer, batch, NULL, NULL, false, NULL);
    fz_gemm_ctx ctx = fz_team_gemm_ctx();
    return k->microkernel && fz_sgemm_reads_packed_b(k->microkernel, &op, &ctx);
}

bool linear_pack_current(const fz_kernels *k, const fz_linear *layer, size_t batch,
                         const fz_sgemm_packed *fwd, const fz_sgemm_packed *dgrad)
{
    fz_gemm_ctx ctx = fz_team_gemm_ctx();
    fz_gemm_op f = forward_op(layer, batch, NULL, NULL, false);
    fz_gemm_op d = dgrad_op(layer, batch, NULL, NULL, false, NULL);
    return (!fwd || fz_sgemm_packed_fits(fwd, k->microkernel, &f, &ctx)) &&
           (!dgrad || fz_sgemm_packed_fits(dgrad, k->microkernel, &d, &ctx));
}

void linear_forward_packed(const fz_kernels *k, const fz_linear *layer,
                           const fz_sgemm_packed *pw, size_t batch, const float *X, float *Y,
                           bool relu, fz_counter *flops)
{
    fz_gemm_op op = forward_op(layer, batch, X, Y, relu);
    layer_gemm(k, &op, pw, flops);
}

void linear_forward(const fz_kernels *k, const fz_linear *layer, size_t batch,
                    const float *X, float *Y, bool relu, fz_counter *flops)
{
    linear_forward_packed(k, layer, NULL, batch, X, Y, relu, flops);
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

void linear_backward_packed(const fz_kernels *k, const fz_linear *layer,
                            const fz_sgemm_packed *pw, size_t batch, const float *X,
                            const float *dY, bool relu_below, float *dW, float *db,
                            float *dX, fz_counter *wgrad, fz_counter *dgrad)
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
        fz_gemm_op op = dgrad_op(layer, batch, X, dY, relu_below, dX);
        layer_gemm(k, &op, pw, dgrad);
    }
}

void linear_backward(const fz_kernels *k, const fz_linear *layer, size_t batch,
                     const float *X, const float *dY, bool relu_below,
                     float *dW, float *db, float *dX,
                     fz_counter *wgrad, fz_counter *dgrad)
{
    linear_backward_packed(k, layer, NULL, batch, X, dY, relu_below, dW, db, dX, wgrad,
                           dgrad);
}
