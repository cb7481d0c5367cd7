/*
 * Internal: the plan of a trainer's steps.  Everything that follows from the freeze flags,
 * the shapes and the execution context is decided here, once per change of flags (or of
 * the kernels and blocking), never per step; the trainer, the packs, the frozen-prefix
 * cache and the data-parallel listener carry it out and read no requires_grad flag:
 *   - per layer, which gradients the backward computes (need_dW, need_db, need_dX) and
 *     which inputs the forward keeps (keep_X);
 *   - which frozen weights are packed once for their forward and dgrad GEMMs;
 *   - where each gradient and kept activation lies in the trainer's arenas;
 *   - the lowest layer with backward work, and so the level of the frozen-prefix cache;
 *   - the buckets data-parallel training sums the gradients in, and when each can start;
 *   - the fingerprint the ranks compare before they sum anything.
 */
#ifndef FZ_PLAN_H
#define FZ_PLAN_H

#include <stdint.h>

#include "exec.h"
#include "extension.h"
#include "freezebench.h"
#include "model.h"

typedef struct {
    bool need_dW;    /* fcL.weight requires grad: dW = dYᵀ·X */
    bool need_db;    /* fcL.bias requires grad:   db = column sums of dY */
    bool need_dX;    /* something below requires grad: dX = dY·W, then the ReLU mask */
    bool keep_X;     /* the forward keeps this layer's input: for dW, or as the ReLU mask */
    bool pack_fwd;   /* W is frozen and the forward GEMM reads a pre-packed Wᵀ */
    bool pack_dgrad; /* W is frozen, need_dX, and the dgrad GEMM reads a pre-packed W */
    size_t act_off;  /* where the kept input lies in the activation arena (floats);
                      * layer 0's input is the caller's and has none */
    /* Buckets bucket[first_bucket .. first_bucket + n_buckets) can start summing once
     * this layer's gradients are written. */
    size_t first_bucket, n_buckets;
} fz_plan_layer;

#define PLAN_NO_GRAD ((size_t)-1)

/* A run of floats of the gradient arena. */
typedef struct {
    size_t off, n;
} plan_piece;

/* What data-parallel training sums in one collective: a run of gradients that lie back to
 * back in the arena (`run`), or small gradients that lie apart (`staged`: the pieces
 * piece[first_piece .. first_piece + n_pieces)), copied together into a staging buffer
 * first.  `floats` counts what the collective sums. */
typedef struct {
    bool staged;
    plan_piece run;
    size_t first_piece, n_pieces;
    size_t floats;
} plan_bucket;

typedef struct {
    size_t batch;
    fz_plan_layer *layer;    /* n_layers entries, fc1 first */
    size_t lowest;           /* lowest layer (0-based) with backward work; n_layers if none */
    bool any_trainable;
    /* The layer (0-based) whose input the frozen-prefix cache of fz_epoch_run holds: the
     * lowest one with backward work, when layers below it are all frozen; 0: no cache. */
    size_t cache_level;
    size_t *grad_off;        /* per tensor: its gradient's offset in the arena (floats), or
                              * PLAN_NO_GRAD where the plan trains it not */
    size_t grad_floats;      /* the gradient arena, each slice starting on a cache line */
    size_t grad_elems;       /* gradient floats, padding not counted */
    size_t act_floats;       /* the activation arena, the same way */
    size_t act_bytes;        /* activation bytes kept, layer 1's input included */
    plan_bucket *bucket;     /* in the order they start */
    size_t n_buckets;
    size_t final_bucket;     /* bucket[final_bucket ..] start once the backward is done */
    plan_piece *piece;       /* the staged gradients, in the order they are written */
    size_t n_pieces;
    /* What every data-parallel rank must share: the shapes and which tensors train. */
    uint64_t fingerprint;
    uint64_t made_at;        /* the model's clock when made (model.h) */
    fz_exec exec;            /* the kernels and blocking the pack decisions are for */
} fz_plan;

/* Whether tensor i gets a gradient, an optimizer state and an update under this plan. */
static inline bool plan_trains(const fz_plan *plan, size_t i)
{
    return plan->grad_off[i] != PLAN_NO_GRAD;
}

typedef struct {
    size_t batch;
    const fz_exec *exec;
    bool prepack;            /* pack frozen weights (FREEZEBENCH_PREPACK=0 turns it off) */
    /* Group the gradients into buckets of about this many bytes for data-parallel
     * training; 0: no buckets. */
    uint64_t bucket_bytes;
} plan_inputs;

/* The plan of m's current flags; FZ_ENOMEM, with *out untouched, when memory runs out. */
fz_status plan_build(const fz_model *m, const plan_inputs *in, fz_plan **out);
void plan_free(fz_plan *plan);

/* Whether `plan` still holds for m and a step run with `exec`: no flag changed since it
 * was made, and the same kernels and blocking (which frozen weights a GEMM reads packed
 * depends on them). */
bool plan_current(const fz_plan *plan, const fz_model *m, const fz_exec *exec);

/* Whether a gradient of n floats is small enough to go through the staging buffer rather
 * than as a bucket of its own, for buckets of bucket_bytes. */
#define plan_staged_size fz_ext_plan_staged_size   /* for libfreezebench-dp (extension.h) */
FZ_DP_EXTENSION bool plan_staged_size(uint64_t bucket_bytes, size_t n);

/* FLOPs the plan implies for one step (conventions: DESIGN.md, "FLOP conventions"). */
typedef struct {
    double fwd, loss_bwd, dX, relu_bwd, dW, db, opt;
} fz_plan_flops;
fz_plan_flops plan_flops(const fz_model *m, const fz_plan *plan, const fz_train_opts *o);

/* Forward GEMM, bias and ReLU FLOPs of layers from..to-1 (0-based) at `batch`, without
 * the loss: what a step that starts at layer `from` (the frozen-prefix cache) skips is
 * plan_forward_flops(m, batch, 0, from). */
double plan_forward_flops(const fz_model *m, size_t batch, size_t from, size_t to);

#endif
