/*
 * Internal: the SGD update folded into the backward.  A trained layer's weight is
 * updated tile by tile in its wgrad GEMM (fz_tile_hook), each tile of dW the moment it
 * is complete and still in the L1, instead of by a separate pass that reads every
 * gradient back from memory.  The layer's dgrad, which reads W, runs first.
 *
 * Folded, an update cannot be copied aside and undone as optimizer.c does, so it is
 * folded only when the whole step's update is shown, before the backward starts, unable
 * to make any value NaN or infinite (update_bound.h): from the largest |input| of the
 * step, the largest |dY| of the loss, and the largest |p| of every weight, bounds on
 * every activation, every dY and so every gradient follow layer by layer (a sum of n
 * products of values below A and B is below n·A·B, plus rounding).  Where a bound fails,
 * nothing is folded and the optimizer runs as before, with its own scan and copy aside.
 * The element-wise update is the table's sgd in both places, so the parameters are
 * bitwise those of the separate pass.
 */
#ifndef FZ_FUSED_UPDATE_H
#define FZ_FUSED_UPDATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counter.h"
#include "freezebench.h"
#include "kernels.h"
#include "model.h"
#include "plan.h"
#include "update_bound.h"

/* What the hook of one wgrad GEMM needs: the weight (laid out as dW, ld floats a row),
 * its momentum buffer (NULL without momentum) and where the update's maxima merge. */
typedef struct {
    const fz_kernels *k;
    float *W, *mom;
    size_t ld;                  /* W's row length (floats) */
    fz_sgd opt;
    fz_counter *flops;
    /* The largest |W| and |momentum| written, as magnitude bits, merged by the tiles of
     * every thread. */
    _Atomic uint32_t max_p, max_mom;
} fused_sgd;

/* The fz_tile_hook function: SGD on the weight's block at (i, j), its gradient the
 * finished tile c. */
void fused_sgd_tile(void *ctx, float *c, size_t ldc, size_t i, size_t j, size_t rows,
                    size_t cols);

/* The fz_tile_hook lines_for: the lines of W (and momentum) that fused_sgd_tile reads
 * and writes for the block at (i, j).  They come from memory (W and its momentum are
 * too large to stay cached between steps, and their tiles' rows lie 4 KiB apart, where
 * no hardware prefetcher follows), so the microkernel of the tile before fetches them. */
size_t fused_sgd_lines(void *ctx, size_t i, size_t j, size_t rows, size_t cols,
                       const void **lines, size_t max);

/* What the step knows once its forward and the loss's gradient are done. */
typedef struct {
    fz_model *m;
    const fz_plan *plan;
    tensor_maxima *maxima;   /* per tensor; a stale max |p| is scanned and made current */
    const fz_kernels *k;
    fz_sgd opt;
    size_t start;            /* the layer the step's forward started at */
    float max_in;            /* largest |input| of that layer */
    float max_dy;            /* largest |gradient of the loss| (dY of the last layer) */
    double *scratch;         /* room for m->n_layers doubles */
} step_bound_inputs;

/* Whether every tensor the plan trains is bounded (update_bounded) with its gradient
 * bounded as above, so that the whole update may run without a copy aside. */
bool step_update_bounded(const step_bound_inputs *in);

#endif
