/*
 * Internal: what a layer above the trainer (src/dist, data-parallel training) may hook
 * into a training step.  The trainer stays unaware of who listens: it says when a layer's
 * gradients are written (grads_ready), lets the listener make progress during the
 * backward's products, and calls before_update once the backward is complete and before
 * the optimizer reads any gradient.  A step with no
 * hooks set runs exactly as before.
 */
#ifndef FZ_TRAINER_HOOKS_H
#define FZ_TRAINER_HOOKS_H

#include <stddef.h>

#include "freezebench.h"
#include "plan.h"

typedef struct {
    void *ctx;
    /* The backward has written layer `layer`'s (0-based) gradients of this step, dW and
     * db as the plan asks for them, and will not touch them again: a listener may start
     * sending them while the layers below compute.  Called from the top layer down, only
     * for layers with a trainable tensor, before that layer's dX. */
    void (*grads_ready)(void *ctx, size_t layer);
    /* Called between blocks of the backward's GEMMs (fz_gemm_ctx.progress) from the
     * step's own thread, so a listener can advance communication it started. */
    void (*progress)(void *ctx);
    /* Every gradient is written; the optimizer runs after this returns FZ_OK.  Another
     * status ends the step before any parameter changes and is returned by it. */
    fz_status (*before_update)(void *ctx);
    /* The loss gradient is 2·(out − y)/(mean_over · outputs): the mean runs over this
     * many rows instead of the trainer's batch when set (not 0), so that gradients
     * summed over shards equal the gradient of the mean over the whole global batch. */
    size_t mean_over_rows;
} trainer_hooks;

void trainer_set_hooks(fz_trainer *t, const trainer_hooks *h);
/* The current plan (re-planned if the flags changed; FZ_ENOMEM leaves the old one). */
fz_status trainer_current_plan(fz_trainer *t, const fz_plan **plan);
/* Gradient buffer of tensor i under the current plan, NULL where the plan has none. */
float *trainer_grad(const fz_trainer *t, size_t i);
fz_model *trainer_model(const fz_trainer *t);

#endif
