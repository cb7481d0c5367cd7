/*
 * Internal: one Linear layer, Y = X·Wᵀ + b, as a pair of functions that the trainer and
 * fz_forward share.
 *
 * linear_backward computes exactly the gradients it is given somewhere to put: each of
 * dW, db and dX may be NULL, and the trainer passes NULL exactly where the plan (plan.h)
 * says !need_dW, !need_db or !need_dX.  So every piece of work freezing saves
 * is skipped in one place, and the FLOP counters see only the work that ran.
 */
#ifndef FZ_LINEAR_H
#define FZ_LINEAR_H

#include <stdbool.h>
#include <stddef.h>

#include "exec.h"
#include "model.h"

/* Y = X·Wᵀ + b, then max(Y, 0) when `relu`, for a batch×in X into a batch×out Y (one
 * GEMM with a fused epilogue), under the execution context x.  W's panels are read from
 * `pw` (linear_pack_forward) where it fits; NULL packs them on the fly, bitwise the same.
 * Counts 2·batch·in·out + batch·out (+ batch·out for the ReLU) into `flops`, which may be
 * NULL. */
void linear_forward(const fz_exec *x, const fz_linear *layer, const fz_sgemm_packed *pw,
                    size_t batch, const float *X, float *Y, bool relu, fz_counter *flops);

/* The backward of linear_forward, from dY (batch×out) and the layer's input X
 * (batch×in).  Each output is computed only when it is not NULL:
 *   dW = dYᵀ·X               out×in    2·batch·in·out FLOPs into `wgrad`
 *   db = column sums of dY   out       batch·out       into `wgrad`
 *   dX = dY·W                batch×in  2·batch·in·out  into `dgrad`
 * When `relu_below`, X is the output of the previous layer's ReLU and dX also takes
 * that ReLU's backward, fused into the same GEMM: dX = 0 where X <= 0 (+ batch·in
 * FLOPs).  X is read only for dW and that mask, so it may be NULL when neither runs.
 * dgrad reads W's panels from `pw` (linear_pack_dgrad) where it fits.  dX must not
 * overlap dY.  Bitwise the same for any thread count. */
void linear_backward(const fz_exec *x, const fz_linear *layer, const fz_sgemm_packed *pw,
                     size_t batch, const float *X, const float *dY, bool relu_below,
                     float *dW, float *db, float *dX, fz_counter *wgrad, fz_counter *dgrad);

/* linear_backward's dW alone, each finished tile of it handed to `after_tile` (NULL:
 * none) while it is in the L1: the trainer folds the optimizer's update of W in there
 * (fused_update.h). */
void linear_wgrad(const fz_exec *x, const fz_linear *layer, size_t batch, const float *X,
                  const float *dY, float *dW, const fz_tile_hook *after_tile,
                  fz_counter *wgrad);

/* A frozen layer's W packed once (kernels.h, fz_sgemm_packed) as the B operand of the
 * forward (op(B) = Wᵀ) or of dgrad (op(B) = W) at `batch` rows, for x's microkernel and
 * blocking.  NULL where x has no microkernel (scalar) or memory runs out.  The pack is
 * a copy: repack after W changes. */
fz_sgemm_packed *linear_pack_forward(const fz_exec *x, const fz_linear *layer, size_t batch);
fz_sgemm_packed *linear_pack_dgrad(const fz_exec *x, const fz_linear *layer, size_t batch);
/* Whether the forward / dgrad GEMM of the layer at `batch` rows would read such a pack:
 * a tall, narrow product (the seed network's 64×10 -> 5) packs X instead, so a pack of W
 * there would be memory and a check per step for nothing.  The plan asks (plan.h). */
bool linear_forward_reads_pack(const fz_exec *x, const fz_linear *layer, size_t batch);
bool linear_dgrad_reads_pack(const fz_exec *x, const fz_linear *layer, size_t batch);
/* Whether packs made by the two functions above at `batch` (either may be NULL) fit
 * x's microkernel and blocking for this layer's products. */
bool linear_packs_fit(const fz_exec *x, const fz_linear *layer, size_t batch,
                      const fz_sgemm_packed *fwd, const fz_sgemm_packed *dgrad);

#endif /* FZ_LINEAR_H */
