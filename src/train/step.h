/*
 * Internal: a training step that starts above layer 1, for the frozen-prefix cache
 * (epoch.c).  When the layers below the lowest trainable one are frozen, their output
 * for a sample never changes, so a step may take it from a cache instead of computing it:
 * the step then runs the forward from layer `start` and the same backward and update as
 * fz_train_step, with the same kernels in the same order, so the result is bitwise that
 * of a step from the sample itself.
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

/* fz_train_step from io->start; FZ_EINVAL if io->start is above the plan's lowest layer
 * with backward work.  Only a step from layer 1 scans its input for NaN/Inf.  The
 * planned forward FLOPs of the step leave out the layers below io->start. */
fz_status trainer_step(fz_trainer *t, const fz_step_io *io, const float *y, float *loss);

fz_model *trainer_step_model(const fz_trainer *t);
size_t trainer_batch(const fz_trainer *t);
/* The lowest layer (0-based) with backward work under the current plan (re-planned if
 * the flags changed); n_layers when nothing is trainable. */
fz_status trainer_lowest(fz_trainer *t, size_t *lowest);

/* The trainer's cache slot (epoch.c owns what it points to), and its destructor. */
struct fz_act_cache;
struct fz_act_cache **trainer_cache(fz_trainer *t);
void act_cache_free(struct fz_act_cache *c);

#endif
