/* The SGD update folded into the wgrad GEMM, and the bound that allows it (fused_update.h). */
#include <math.h>

#include "elementwise.h"
#include "fused_update.h"

/* The larger of *slot and bits, between the threads whose tiles share the slot: one
 * compare-exchange per tile, which a tile's few hundred updated floats amortize. */
static void merge_max_atomic(_Atomic uint32_t *slot, uint32_t bits)
{
    uint32_t seen = atomic_load_explicit(slot, memory_order_relaxed);
    while (bits > seen && !atomic_compare_exchange_weak_explicit(
               slot, &seen, bits, memory_order_relaxed, memory_order_relaxed))
        ;
}

/* Appends the lines holding x[r·ld + c] for r < rows, c < cols to lines[*n..max). */
static void append_lines(const float *x, size_t ld, size_t rows, size_t cols,
                         const void **lines, size_t *n, size_t max)
{
    for (size_t r = 0; r < rows; r++) {
        uintptr_t at = (uintptr_t)(x + r * ld) & ~(uintptr_t)63;
        uintptr_t end = (uintptr_t)(x + r * ld + cols);
        for (; at < end && *n < max; at += 64)
            lines[(*n)++] = (const void *)at;
    }
}

size_t fused_sgd_lines(void *ctx, size_t i, size_t j, size_t rows, size_t cols,
                       const void **lines, size_t max)
{
    const fused_sgd *f = ctx;
    size_t n = 0, at = i * f->ld + j;
    append_lines(f->W + at, f->ld, rows, cols, lines, &n, max);
    if (f->mom)
        append_lines(f->mom + at, f->ld, rows, cols, lines, &n, max);
    return n;
}

void fused_sgd_tile(void *ctx, float *c, size_t ldc, size_t i, size_t j, size_t rows,
                    size_t cols)
{
    fused_sgd *f = ctx;
    uint32_t max_p, max_mom;
    /* The table's sgd over the block: each element goes through the very operations
     * the separate optimizer pass would apply to it. */
    size_t at = i * f->ld + j;
    sgd_maxima w = f->k->sgd_rows(f->W + at, f->ld, c, ldc, f->mom ? f->mom + at : NULL,
                                  rows, cols, f->opt.lr, f->opt.momentum,
                                  f->opt.weight_decay, NULL);
    max_p = magnitude_bits(w.p);
    max_mom = magnitude_bits(w.buf);
    merge_max_atomic(&f->max_p, max_p);
    merge_max_atomic(&f->max_mom, max_mom);
    counter_add(f->flops, sgd_flops(rows * cols, f->mom, f->opt.weight_decay));
}

/* A float sum of n products, each below A·B in magnitude, is below n·A·B times this:
 * every one of the n operations that make it rounds up by at most 2^-24 relatively, so
 * the total error stays below n·2^-24/(1 - n·2^-24) < (n + 2)·2^-23 for n < 2^20.
 * Beyond, no bound is claimed. */
static double rounding_margin(size_t n)
{
    return n < ((size_t)1 << 20) ? 1.0 + (double)(n + 2) * 0x1p-23 : INFINITY;
}

/* Largest |p| of tensor i, scanned where the tracked one is stale (written from outside
 * since, or never taken: a frozen tensor's is taken once and stays current until it is
 * written). */
static double max_abs_param(const step_bound_inputs *in, size_t i)
{
    tensor_maxima *mx = &in->maxima[i];
    if (!maxima_current(mx, in->m, i)) {
        const fz_tensor *t = &in->m->tensors[i];
        mx->p = in->k->abs_max(t->data, t->numel);
        mx->p_known = true;
        mx->p_at = t->changed_at;
    }
    return mx->p;
}

/* Whether tensor i's update is bounded with a gradient of magnitude at most g. */
static bool tensor_bounded(const step_bound_inputs *in, size_t i, double g)
{
    const tensor_maxima *mx = &in->maxima[i];
    float mom = in->opt.momentum != 0.0f ? mx->mom : 0.0f;
    /* As a float, rounded up: past FLT_MAX it is infinite and fails the bound. */
    float gf = g <= (double)FLT_MAX ? nextafterf((float)g, INFINITY) : INFINITY;
    return update_bounded((float)max_abs_param(in, i), gf, mom, in->opt);
}

bool step_update_bounded(const step_bound_inputs *in)
{
    const fz_model *m = in->m;
    const fz_plan *plan = in->plan;
    size_t L = m->n_layers, B = plan->batch;
    double *max_x = in->scratch;

    /* Upwards: each layer's input, from the step's own; ReLU only lowers a bound. */
    max_x[in->start] = in->max_in;
    for (size_t l = in->start; l + 1 < L; l++) {
        size_t iW = m->w_index[l], ib = m->b_index[l];
        double bias = ib == FZ_NO_BIAS ? 0.0 : max_abs_param(in, ib);
        double sum = (double)m->widths[l] * max_x[l] * max_abs_param(in, iW) *
                     rounding_margin(m->widths[l]);
        max_x[l + 1] = (sum + bias) * (1.0 + 0x1p-23);
    }

    /* Downwards: dY of each layer with backward work, from the loss's; the dgrad's
     * ReLU mask only zeroes.  dW sums B products of dY and X, db sums B of dY. */
    double max_dy = in->max_dy;
    for (size_t l = L; l-- > plan->lowest;) {
        size_t iW = m->w_index[l], ib = m->b_index[l];
        double rows = (double)B * rounding_margin(B);
        if (plan_trains(plan, iW) && !tensor_bounded(in, iW, rows * max_dy * max_x[l]))
            return false;
        if (ib != FZ_NO_BIAS && plan_trains(plan, ib) && !tensor_bounded(in, ib, rows * max_dy))
            return false;
        size_t out = m->widths[l + 1];
        max_dy = (double)out * max_dy * max_abs_param(in, iW) * rounding_margin(out);
    }
    return true;
}
