/*
 * Internal: what a layer above the trainer (src/dist, data-parallel training) may hook
 * into a training step.  The trainer stays unaware of who listens: it calls before_update
 * once the backward is complete and before the optimizer reads any gradient.  A step with no
 * hooks set runs exactly as before.
 */
#ifndef FZ_TRAINER_HOOKS_H
#define FZ_TRAINER_HOOKS_H

#include <stddef.h>

#include "freezebench.h"
#include "plan.h"

typedef struct {
    void *ctx;
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
