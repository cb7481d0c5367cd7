/*
 * Internal: what lets the optimizer know, before it changes anything, that an SGD update
 * cannot make a value NaN or infinite, so that it needs no copy aside to undo one.
 *
 * Per tensor the trainer keeps the largest |p| and |momentum| as the optimizer last
 * wrote them (the SGD kernel returns them as it stores), and each step scans its
 * gradients for the largest |g|.  From these, with torch.optim.SGD's arithmetic
 * (kernels.h: d = g + wd·p; buf = momentum·buf + d; p -= lr·buf, or p -= lr·d), every
 * value the update computes is bounded; where every bound is far enough below FLT_MAX the
 * update runs unguarded.
 */
#ifndef FZ_UPDATE_BOUND_H
#define FZ_UPDATE_BOUND_H

#include <float.h>
#include <stdbool.h>
#include <stdint.h>

#include "elementwise.h"
#include "freezebench.h"
#include "model.h"

typedef struct {
    /* max |p| of the tensor's data as of the model's clock p_at (p_known).  The
     * optimizer's writes keep it; a write from outside (fz_param_data, fz_load_npz, the
     * data-parallel broadcast) stamps the tensor later than p_at, and the next update
     * scans p once before trusting it again. */
    float p;
    uint64_t p_at;
    bool p_known;
    /* max |momentum buffer|: only the optimizer writes the buffers, and a new one is
     * zero, so this is never stale. */
    float mom;
    /* The step's maxima as magnitude bits (elementwise.h), merged over the threads that
     * each took a slice of the tensor: of g, of a stale p, and of what the update wrote. */
    uint32_t step_g, step_p, step_mom;
} tensor_maxima;

/* *slot = the larger of it and bits, between the threads of a team of `team` that
 * share the slot (one merge per tensor and thread; optimizer.c and adamw.c).  A thread
 * alone takes no lock: the seed network's whole update is a few tens of nanoseconds,
 * about what a lock costs.  Unnamed: a named critical section is a lock symbol the
 * library would export. */
static inline void merge_max_bits(uint32_t *slot, uint32_t bits, int team)
{
    if (team <= 1) {
        *slot = max_bits(*slot, bits);
        return;
    }
#ifdef _OPENMP
#pragma omp critical
#endif
    *slot = max_bits(*slot, bits);
}

/* Whether m's tensor i still holds what mx->p was taken from. */
static inline bool maxima_current(const tensor_maxima *mx, const fz_model *m, size_t i)
{
    return mx->p_known && model_current(mx->p_at, m->tensors[i].changed_at);
}

/* Headroom below FLT_MAX for float rounding.  Each value of the update is at most six
 * float operations from the inputs its bound is taken of (p' = p - lr·(momentum·buf +
 * (g + wd·p))), each rounding up by at most 2^-24 relatively, and the bounds themselves
 * are summed in double (rounding at 2^-53): a computed value exceeds its bound by far
 * less than a factor of 16, so nothing the update computes can overflow to an infinity;
 * and with every input finite and no overflow, no operation makes a NaN. */
#define UPDATE_BOUND_LIMIT ((double)FLT_MAX / 16)

/* Below this many trained floats (1 KiB) the update takes the checked path (copy aside,
 * update, check) without a bound: so little copied aside stays in L1, and on the seed
 * network (6 floats) the gradient scan and the per-tensor bookkeeping made the 1 µs
 * step 7% slower (ab_builds, Zen 4). */
#define UPDATE_BOUND_MIN_FLOATS ((size_t)256)

/* Whether SGD under opt keeps every value finite on a tensor whose |p| <= max_p,
 * |g| <= max_g and |momentum| <= max_mom (each not finite, or NaN, where some element
 * is not: then false).  |d| <= G + wd·P; |buf'| <= momentum·M + |d|; |p'| <= P + lr·|buf'|
 * (lr·|d| without momentum). */
static inline bool update_bounded(float max_p, float max_g, float max_mom, fz_sgd opt)
{
    double d = (double)max_g + (double)opt.weight_decay * max_p;
    double step = d;
    if (opt.momentum != 0.0f) {
        step = (double)opt.momentum * max_mom + d;
        if (!(step <= UPDATE_BOUND_LIMIT))
            return false;
    }
    double p = (double)max_p + (double)opt.lr * step;
    /* Written so that a NaN anywhere fails every comparison, and so the bound. */
    return d <= UPDATE_BOUND_LIMIT && p <= UPDATE_BOUND_LIMIT;
}

#endif
