/*
 * Helpers shared by the core tests: deterministic data, and whole-model snapshots so a
 * test can say "this call left the model exactly as it was" or "this tensor did not move
 * by a single bit".  Header-only (static functions) so each test stays one executable.
 */
#ifndef FZ_CORE_TESTUTIL_H
#define FZ_CORE_TESTUTIL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "counter.h"
#include "freezebench.h"
#include "rng.h"

/* n floats uniform in [lo, hi) from `seed`: the same data on every CPU. */
static inline void fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    fz_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = rng_uniform(&r, lo, hi);
}

/* A malloc'd array of n floats uniform in [-1, 1) from `seed` (NULL if out of memory;
 * the caller frees it). */
static inline float *random_floats(size_t n, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    if (x)
        fill_uniform(x, n, seed, -1.0f, 1.0f);
    return x;
}

/* A zeroed FLOP counter, aligned as fz_counter wants (NULL if out of memory; free()
 * frees it). */
static inline fz_counter *counter_new(void)
{
    return aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
}

/* Every parameter value and every requires_grad flag of a model, in state_dict order. */
typedef struct {
    size_t n_tensors;
    float **data;
    size_t *numel;
    bool *requires_grad;
} model_snapshot;

static inline model_snapshot snapshot_take(fz_model *m)
{
    model_snapshot s = { .n_tensors = fz_param_count(m) };
    s.data = calloc(s.n_tensors, sizeof *s.data);
    s.numel = calloc(s.n_tensors, sizeof *s.numel);
    s.requires_grad = calloc(s.n_tensors, sizeof *s.requires_grad);
    for (size_t i = 0; i < s.n_tensors; i++) {
        const char *name = fz_param_name(m, i);
        const float *p = fz_param_data(m, name, &s.numel[i]);
        s.data[i] = malloc(s.numel[i] * sizeof(float));
        memcpy(s.data[i], p, s.numel[i] * sizeof(float));
        s.requires_grad[i] = fz_requires_grad(m, name);
    }
    return s;
}

/* True when the named tensor holds bit for bit what the snapshot recorded. */
static inline bool snapshot_tensor_same(const model_snapshot *s, fz_model *m, size_t i)
{
    size_t n;
    const float *p = fz_param_data(m, fz_param_name(m, i), &n);
    return p && n == s->numel[i] && !memcmp(p, s->data[i], n * sizeof(float));
}

/* True when every value and every flag is as the snapshot recorded. */
static inline bool snapshot_model_same(const model_snapshot *s, fz_model *m)
{
    if (fz_param_count(m) != s->n_tensors)
        return false;
    for (size_t i = 0; i < s->n_tensors; i++)
        if (!snapshot_tensor_same(s, m, i) ||
            fz_requires_grad(m, fz_param_name(m, i)) != s->requires_grad[i])
            return false;
    return true;
}

static inline void snapshot_free(model_snapshot *s)
{
    for (size_t i = 0; i < s->n_tensors; i++)
        free(s->data[i]);
    free(s->data);
    free(s->numel);
    free(s->requires_grad);
    *s = (model_snapshot){0};
}

/* Copies every parameter value of `src` into `dst` (same widths), flags untouched. */
static inline void copy_params(fz_model *dst, fz_model *src)
{
    for (size_t i = 0; i < fz_param_count(src); i++) {
        const char *name = fz_param_name(src, i);
        size_t n, nd;
        const float *p = fz_param_data(src, name, &n);
        float *d = fz_param_data(dst, name, &nd);
        memcpy(d, p, n * sizeof(float));
    }
}

/* The name of the first parameter whose values differ between a and b (models of the
 * same widths) in any bit, or NULL when all are bitwise the same. */
static inline const char *first_differing_param(fz_model *a, fz_model *b)
{
    for (size_t i = 0; i < fz_param_count(a); i++) {
        size_t na, nb;
        const char *name = fz_param_name(a, i);
        const float *pa = fz_param_data(a, name, &na), *pb = fz_param_data(b, name, &nb);
        if (na != nb || memcmp(pa, pb, na * sizeof(float)) != 0)
            return name;
    }
    return NULL;
}

/* op(A), op(B) of the three products of a training step, by index 0..2: the forward's
 * X·Wᵀ (NT), the dgrad's dY·W (NN) and the wgrad's dYᵀ·X (TN). */
typedef struct { fz_trans ta, tb; } training_layout;

static inline training_layout training_layout_of(int l)
{
    const training_layout layouts[3] = {
        { FZ_NOTRANS, FZ_TRANS }, { FZ_NOTRANS, FZ_NOTRANS }, { FZ_TRANS, FZ_NOTRANS } };
    return layouts[l];
}

#endif
