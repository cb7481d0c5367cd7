/*
 * One Linear layer forward and backward.  This is the only file that builds the layer
 * GEMMs, and every one goes through exec_gemm; the trainer decides which of them run by
 * what it passes (linear.h).
 */
#include "linear.h"
#include "parallel.h"

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

fz_sgemm_packed *linear_pack_forward(const fz_exec *x, const fz_linear *layer, size_t batch)
{
    if (!x->k->microkernel)
        return NULL;
    fz_gemm_op op = forward_op(layer, batch, NULL, NULL, false);
    return sgemm_prepack_b(x->k->microkernel, &op, &x->gemm);
}

fz_sgemm_packed *linear_pack_dgrad(const fz_exec *x, const fz_linear *layer, size_t batch)
{
    if (!x->k->microkernel)
        return NULL;
    fz_gemm_op op = dgrad_op(layer, batch, NULL, NULL, false, NULL);
    return sgemm_prepack_b(x->k->microkernel, &op, &x->gemm);
}

bool linear_forward_reads_pack(const fz_exec *x, const fz_linear *layer, size_t batch)
{
    fz_gemm_op op = forward_op(layer, batch, NULL, NULL, false);
    return x->k->microkernel && sgemm_reads_packed_b(x->k->microkernel, &op, &x->gemm);
}

bool linear_dgrad_reads_pack(const fz_exec *x, const fz_linear *layer, size_t batch)
{
    fz_gemm_op op = dgrad_op(layer, batch, NULL, NULL, false, NULL);
    return x->k->microkernel && sgemm_reads_packed_b(x->k->microkernel, &op, &x->gemm);
}

bool linear_packs_fit(const fz_exec *x, const fz_linear *layer, size_t batch,
                      const fz_sgemm_packed *fwd, const fz_sgemm_packed *dgrad)
{
    fz_gemm_op f = forward_op(layer, batch, NULL, NULL, false);
    fz_gemm_op d = dgrad_op(layer, batch, NULL, NULL, false, NULL);
    return (!fwd || sgemm_packed_fits(fwd, x->k->microkernel, &f, &x->gemm)) &&
           (!dgrad || sgemm_packed_fits(dgrad, x->k->microkernel, &d, &x->gemm));
}

void linear_forward(const fz_exec *x, const fz_linear *layer, const fz_sgemm_packed *pw,
                    size_t batch, const float *X, float *Y, bool relu, fz_counter *flops)
{
    fz_gemm_op op = forward_op(layer, batch, X, Y, relu);
    exec_gemm(x, &op, pw, flops);
}

void linear_wgrad(const fz_exec *x, const fz_linear *layer, size_t batch, const float *X,
                  const float *dY, float *dW, const fz_tile_hook *after_tile,
                  fz_counter *wgrad)
{
    size_t I = layer->in, O = layer->out;
    fz_gemm_op op = {
        .ta = FZ_TRANS, .tb = FZ_NOTRANS, .m = O, .n = I, .k = batch, .alpha = 1.0f,
        .a = dY, .lda = O, .b = X, .ldb = I, .beta = 0.0f, .c = dW, .ldc = I,
        .after_tile = after_tile,
    };
    exec_gemm(x, &op, NULL, wgrad);
}

/* Thread ith's share of the column sums.  Each column still sums its rows in order, so
 * db is the same for any thread count. */
typedef struct {
    const fz_kernels *k;
    float *db;
    const float *dy;
    size_t m, n, ld;
    fz_counter *cnt;
} colsum_job;

static bool colsum_slice(void *ctx, int ith, int nth)
{
    const colsum_job *j = ctx;
    fz_range r = split_range(j->n, ith, nth);
    if (r.end > r.begin)
        j->k->colsum(j->db + r.begin, j->dy + r.begin, j->m, r.end - r.begin, j->ld, j->cnt);
    return false;
}

/* db = column sums of an m×n dY, the columns split over the team. */
static void colsum_team(const fz_exec *x, float *db, const float *dy, size_t m, size_t n,
                        size_t ld, fz_counter *cnt)
{
    team_pass(threads_for(m * n, x->gemm.threads), colsum_slice,
              &(colsum_job){ x->k, db, dy, m, n, ld, cnt });
}

void linear_backward(const fz_exec *x, const fz_linear *layer, const fz_sgemm_packed *pw,
                     size_t batch, const float *X, const float *dY, bool relu_below,
                     float *dW, float *db, float *dX, fz_counter *wgrad, fz_counter *dgrad)
{
    size_t O = layer->out;
    if (dW)
        linear_wgrad(x, layer, batch, X, dY, dW, NULL, wgrad);
    if (db)
        colsum_team(x, db, dY, batch, O, O, wgrad);
    if (dX) {
        /* The mask is the ReLU's own output, positive exactly where its gradient passes. */
        fz_gemm_op op = dgrad_op(layer, batch, X, dY, relu_below, dX);
        exec_gemm(x, &op, pw, dgrad);
    }
}
