/*
 * Internal: the backward plan.  Derived from the requires_grad flags once (and again
 * whenever they change), never per step.  This is the one place where freezing turns
 * into skipped work: the trainer reads no requires_grad flag, only the plan, so
 * `grep -n 'need_'` finds every decision freezing changes (which gradients and
 * activations exist, which GEMMs and SGD updates run, which momentum buffers are made).
 */
#ifndef FZ_PLAN_H
#define FZ_PLAN_H

#include "model.h"

typedef struct {
    bool need_dW;   /* fcL.weight requires grad: dW = dYᵀ·X */
    bool need_db;   /* fcL.bias requires grad:   db = column sums of dY */
    bool need_dX;   /* something below requires grad: dX = dY·W, then the ReLU mask */
    bool keep_X;    /* the forward keeps this layer's input: for dW, or as the ReLU mask */
} fz_plan_layer;

typedef struct {
    size_t n_layers;
    fz_plan_layer *layer;   /* n_layers entries, fc1 first */
    size_t lowest;          /* lowest layer (0-based) with backward work; n_layers if none */
    bool any_trainable;
    uint64_t flags_version; /* the model's flags_version this plan was built from */
} fz_plan;

/* Whether tensor t gets a gradient, a momentum buffer and an SGD update under this plan:
 * a weight when its layer has need_dW, a bias when it has need_db. */
static inline bool plan_need_grad(const fz_plan *plan, const fz_tensor *t)
{
    const fz_plan_layer *p = &plan->layer[t->layer];
    return t->is_bias ? p->need_db : p->need_dW;
}

/* Fills plan->layer (already sized for m's layers) from m's flags. */
void plan_backward(const fz_model *m, fz_plan *plan);

/* FLOPs the plan implies for one step at `batch` (conventions: ../DESIGN.md). */
typedef struct {
    double fwd, loss_bwd, dX, relu_bwd, dW, db, opt;
} fz_plan_flops;
fz_plan_flops plan_flops(const fz_model *m, const fz_plan *plan, size_t batch,
                         fz_sgd opt);

/* Forward GEMM, bias and ReLU FLOPs of layers from..to-1 (0-based) at `batch`, without
 * the loss: what a step that starts at layer `from` (the frozen-prefix cache) skips is
 * plan_forward_flops(m, batch, 0, from). */
double plan_forward_flops(const fz_model *m, size_t batch, size_t from, size_t to);

/* Bytes of forward activations the plan keeps at `batch` (layer 1's input is the
 * caller's x: counted when kept, since the step holds on to it). */
size_t plan_activation_bytes(const fz_model *m, const fz_plan *plan, size_t batch);

#endif
