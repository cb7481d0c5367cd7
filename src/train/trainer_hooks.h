/*
 * Internal: what a layer above the trainer (src/dist, data-parallel training) may hook
 * into a training step.  The trainer stays unaware of who listens, and a listener never
 * calls back into the trainer during a step: each call hands it what it needs.  The
 * buckets are the plan's (plan.h), with their pointers resolved into the trainer's
 * gradient arena.  A step with no hooks set runs exactly as before.
 */
#ifndef FZ_TRAINER_HOOKS_H
#define FZ_TRAINER_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "extension.h"
#include "freezebench.h"

/* Gradient floats g[0..n) of this step, final. */
typedef struct {
    float *g;
    size_t n;
} grad_piece;

/* One collective's worth of gradients: one piece for a run that lies back to back, or
 * several small ones to be copied together first (`staged`). */
typedef struct {
    const grad_piece *piece;
    size_t n_pieces;
    size_t floats;   /* the pieces' floats together */
    bool staged;
} grad_bucket;

typedef struct {
    void *ctx;
    /* Buckets b[0..n) are written and will not be touched again this step: a listener
     * may start summing them while the layers below compute.  Called from the top layer
     * down, after a layer's dW and db and before its dX, and once more with the last
     * buckets when the backward is done, before before_update. */
    void (*grads_ready)(void *ctx, const grad_bucket *b, size_t n);
    /* Called between blocks of the backward's GEMMs (fz_gemm_ctx.progress, through the
     * step's execution context) from the step's own thread, so a listener can advance
     * communication it started. */
    void (*progress)(void *ctx);
    /* Every gradient is written; the optimizer runs after this returns FZ_OK.  Another
     * status ends the step before any parameter changes and is returned by it. */
    fz_status (*before_update)(void *ctx);
    /* The plan groups the gradients into buckets of about this many bytes (0: the
     * trainer hands out none). */
    uint64_t bucket_bytes;
    /* The loss gradient is 2·(out − y)/(mean_over · outputs): the mean runs over this
     * many rows instead of the trainer's batch when set (not 0), so that gradients
     * summed over shards equal the gradient of the mean over the whole global batch. */
    size_t mean_over_rows;
} trainer_hooks;

/* Sets the hooks (NULL: none); the next step re-plans when the bucket size changed. */
#define trainer_set_hooks fz_ext_trainer_set_hooks   /* for libfreezebench-dp (extension.h) */
FZ_DP_EXTENSION void trainer_set_hooks(fz_trainer *t, const trainer_hooks *h);

/* What a listener reads between steps: the plan's fingerprint (what every rank must
 * share: shapes and which tensors train) and the gradient floats the plan sums per
 * step.  The plan is brought up to date first (FZ_ENOMEM leaves the old one). */
typedef struct {
    uint64_t fingerprint;
    size_t grad_elems;
} trainer_plan_summary;
#define trainer_plan_summary_get fz_ext_trainer_plan_summary_get   /* for libfreezebench-dp */
FZ_DP_EXTENSION fz_status trainer_plan_summary_get(fz_trainer *t, trainer_plan_summary *out);

#endif
