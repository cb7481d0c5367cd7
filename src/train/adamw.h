/*
 * Internal: the AdamW update of one training step (the trainer's optimizer phase when it
 * was made with FZ_OPTIM_ADAMW), on every tensor the plan trains, as torch.optim.AdamW:
 * decoupled weight decay, bias corrections from each tensor's own step count.  A tensor
 * gets its state (exp_avg and exp_avg_sq, zero) and a step count of 0 the first time a
 * plan trains it, as PyTorch's state for a parameter starts at its first update; frozen,
 * it keeps both and resumes them when unfrozen.
 *
 * Exact undo, as SGD's (optimizer.h): a first pass reads every gradient and parameter
 * for its largest magnitude; with those, the largest second moment the last update
 * wrote and a running bound on the first moment, every value the update computes is
 * bounded (adamw_bounded: with eps > 0 the step is at most step_size·|m|/eps), and where
 * all stay below UPDATE_BOUND_LIMIT the update runs with nothing copied.  Otherwise
 * each chunk is copied aside while it is in cache and checked after: an update that
 * makes a parameter or a second moment NaN or infinite (a finite second moment means
 * finite gradients, so a finite first moment) is undone, state included, and
 * reported.
 */
#ifndef FZ_ADAMW_H
#define FZ_ADAMW_H

#include <stddef.h>
#include <stdint.h>

#include "counter.h"
#include "exec.h"
#include "freezebench.h"
#include "model.h"
#include "plan.h"
#include "update_bound.h"

/* Per tensor, what bounds its next update beside the step's own scan: the largest
 * second moment the last update wrote, and a bound on the first moment's magnitude (the
 * largest |g| it has averaged, with rounding room: a convex combination never leaves
 * the range of what it combines).  Zero for new state. */
typedef struct {
    float v, m;
    uint32_t scan_g, scan_p;    /* the step's maxima as magnitude bits, merged by slices */
    uint32_t wrote_v;           /* the largest v the update wrote, merged likewise */
} adamw_maxima;

typedef struct {
    fz_model *m;
    const fz_plan *plan;        /* which tensors it updates: plan_trains */
    adamw_maxima *maxima;       /* per tensor */
    bool always_check;          /* FREEZEBENCH_UPDATE_BOUND=0: copy aside every update */
    fz_adamw opt;
    float **grad;               /* per tensor, NULL where the plan has none */
    const float *grad_arena;    /* where the gradients lie */
    float **exp_avg, **exp_avg_sq;
    uint64_t *steps;            /* per tensor: its updates so far */
    /* Room for the pre-update copies, laid out as the gradient arena three times: p,
     * then exp_avg `third` floats on, then exp_avg_sq. */
    float *undo_arena;
    size_t third;
    size_t grad_floats;         /* floats the plan trains (to size the team) */
    fz_counter *flops;
    uint64_t step;              /* the training step's number (from 1), for the message */
} adamw_update;

/* AdamW on every tensor u->plan trains, split over x's threads; each tensor it wrote is
 * marked written (model_touch) and its step count advanced.  FZ_ENONFINITE, with every
 * tensor and its state put back as before and the first bad value named, when the
 * update made one NaN or infinite. */
fz_status adamw_update_run(const adamw_update *u, const fz_exec *x, bool *checked);

#endif
