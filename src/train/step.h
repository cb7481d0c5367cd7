/*
 * Internal: a training step that starts above layer 1, for the frozen-prefix cache
 * (prefix_cache.h, epoch.c).  When the layers below the lowest trainable one are frozen,
 * their output for a sample never changes, so a step may take it from a cache instead of
 * computing it: the step then runs the forward from layer `start` and the same backward
 * and update as fz_train_step, with the same kernels in the same order, so the result is
 * bitwise that of a step from the sample itself.
 */
#ifndef FZ_STEP_H
#define FZ_STEP_H

#include "freezebench.h"
#include "model.h"

typedef struct {
    size_t start;        /* 0-based layer whose input `in` is: 0 = the sample x */
    const float *in;     /* batch × widths[start] */
    /* When record_dst is not NULL, the input of layer `record` (>= start) is copied
     * there as the forward passes it (batch × widths[record]). */
    size_t record;
    float *record_dst;
} fz_step_io;

/* What a step's loss compares the output with: targets y (batch×out) for MSE, or class
 * labels (batch) for cross-entropy; the other is NULL. */
typedef struct {
    const float *y;
    const int32_t *labels;
} step_target;

/* fz_train_step from io->start; FZ_EINVAL if io->start is above the plan's lowest layer
 * with backward work.  Only a step from layer 1 scans its input for NaN/Inf.  The
 * planned forward FLOPs of the step leave out the layers below io->start. */
fz_status trainer_step(fz_trainer *t, const fz_step_io *io, const step_target *target,
                       float *loss);

fz_model *trainer_step_model(const fz_trainer *t);
size_t trainer_batch(const fz_trainer *t);
/* Steps whose update was copied aside and checked because the bound on its values did
 * not hold (optimizer.h), failed ones included: for the tests, which must know which
 * path they exercised. */
uint64_t trainer_checked_updates(const fz_trainer *t);
/* Steps whose weights' update was folded into the backward (fused_update.h). */
uint64_t trainer_fused_updates(const fz_trainer *t);
/* The level of the frozen-prefix cache under the plan as it stands (re-planned if the
 * flags changed): the 0-based layer whose input it holds, 0 for none. */
fz_status trainer_cache_level(fz_trainer *t, size_t *level);

/* One object a layer above the trainer may keep with it (the epoch loop's frozen-prefix
 * cache), freed with the trainer through `free_fn`: the trainer owns its lifetime
 * without knowing what it is, so no code of the trainer's calls up into its owner. */
void **trainer_attachment(fz_trainer *t, void (*free_fn)(void *));

#endif
