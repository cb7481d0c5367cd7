/*
 * Internal: the SGD update of one training step (the trainer's optimizer phase), on
 * every tensor the plan trains.  An update that could make a value NaN or infinite
 * (update_bound.h) runs with the copy aside that lets it be undone exactly; every other
 * one runs unguarded.
 */
#ifndef FZ_OPTIMIZER_H
#define FZ_OPTIMIZER_H

#include <stddef.h>
#include <stdint.h>

#include "counter.h"
#include "freezebench.h"
#include "exec.h"
#include "model.h"
#include "plan.h"
#include "update_bound.h"

typedef struct {
    fz_model *m;
    const fz_plan *plan;        /* which tensors it updates: plan_trains */
    fz_sgd opt;
    float **grad;               /* per tensor, NULL where the plan has none */
    const float *grad_arena;    /* where the gradients lie, grad_floats of them */
    size_t grad_floats;
    float **mom;                /* per tensor (used when opt.momentum != 0) */
    /* Room for the pre-update copies, laid out as the gradient arena, momentum in a
     * second half undo_half floats on. */
    float *undo_arena;
    size_t undo_half;
    /* Per tensor: the maxima that bound the update, kept up to date by it. */
    tensor_maxima *maxima;
    /* Copy aside and check every update, bounded or not: the path the tests compare the
     * unguarded one against (FREEZEBENCH_UPDATE_BOUND=0). */
    bool always_check;
    /* The whole update was shown bounded before the backward (fused_update.h): no scan,
     * no copy aside.  fused[i] (NULL: none) marks the tensors the backward updated
     * already; their maxima of the update are in maxima[i].step_p and step_mom. */
    bool proven;
    const bool *fused;
    fz_counter *flops;
    uint64_t step;              /* the step's number (from 1), for the message */
} sgd_update;

/* SGD on every tensor u->plan trains (but those u->fused marks), split over x's threads; each tensor it wrote is
 * marked written (model_touch) and its maxima brought up to date.  FZ_ENONFINITE, with
 * every tensor and its momentum put back as before and the first bad value named, when
 * the update made one NaN or infinite.  *checked says whether the update was copied
 * aside and checked (the bound did not hold, or always_check). */
fz_status sgd_update_run(const sgd_update *u, const fz_exec *x, bool *checked);

#endif
