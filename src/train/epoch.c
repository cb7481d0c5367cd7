/*
 * Epochs over a data set, and the frozen-prefix activation cache they keep.
 *
 * The layers below the plan's lowest trainable layer K are frozen, so the input of K for
 * a sample is a fixed function of the sample: it is stored per sample (indexed by the
 * sample, never by its position in an epoch, so any order works) as the steps compute it,
 * and a step whose samples are all stored starts at K (step.h).  The cache has two
 * slots: `top`, at the current boundary, and `low`, a cache at a lower boundary that is
 * still valid (the plan froze more layers since it was made) and serves as the starting
 * point while `top` fills, dropped at the end of that epoch.
 */
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "clock.h"
#include "error.h"
#include "model.h"
#include "step.h"

typedef struct {
    size_t level;            /* 0-based layer whose input is stored; 0 = empty slot */
    float *rows;             /* n × widths[level] */
    unsigned char *valid;    /* per sample: its row is stored */
    uint64_t *gen;           /* generation of each tensor when the slot was made */
    size_t bytes;
} slot;

struct fz_act_cache {
    const float *x;          /* the data set the slots hold: same array, same n */
    size_t n;
    slot low, top;
    /* Batch buffers: gathered samples, targets, the cached input and the recorded one. */
    float *bx, *by, *bin, *rec;
};

static void slot_free(slot *s)
{
    free(s->rows);
    free(s->valid);
    free(s->gen);
    *s = (slot){0};
}

void act_cache_free(struct fz_act_cache *c)
{
    if (!c)
        return;
    slot_free(&c->low);
    slot_free(&c->top);
    free(c->bx);
    free(c->by);
    free(c->bin);
    free(c->rec);
    free(c);
}

void fz_epoch_cache_drop(fz_trainer *t)
{
    if (!t)
        return;
    struct fz_act_cache **c = trainer_cache(t);
    if (*c) {
        slot_free(&(*c)->low);
        slot_free(&(*c)->top);
    }
}

/* A slot stays valid while every tensor below its level is unwritten (the trainer only
 * writes the tensors it trains, which lie at or above the boundary). */
static bool slot_current(const slot *s, const fz_model *m)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].layer < s->level && m->tensors[i].generation != s->gen[i])
            return false;
    return true;
}

static size_t slot_bytes(const fz_model *m, size_t n, size_t level)
{
    size_t b;
    if (!fz_mul_ok(n, m->widths[level], &b) || !fz_mul_ok(b, sizeof(float), &b) ||
        !fz_add_ok(b, n, &b))
        return SIZE_MAX;
    return b;
}

static bool slot_make(slot *s, const fz_model *m, size_t n, size_t level)
{
    s->level = level;
    s->bytes = slot_bytes(m, n, level);
    s->rows = fz_alloc_floats(n * m->widths[level]);
    s->valid = calloc(n, 1);
    s->gen = malloc(m->n_tensors * sizeof *s->gen);
    if (!s->rows || !s->valid || !s->gen) {
        slot_free(s);
        return false;
    }
    for (size_t i = 0; i < m->n_tensors; i++)
        s->gen[i] = m->tensors[i].generation;
    return true;
}

/* Brings the slots in line with the plan and the data set before an epoch: drops what
 * is no longer the output of frozen, unchanged layers on this x, and makes the slot at
 * the current boundary if it fits.  Fills stats' fallback note when it does not. */
static void cache_sync(struct fz_act_cache *c, const fz_model *m, const float *x, size_t n,
                       size_t lowest, const fz_epoch_opts *o, fz_epoch_stats *st)
{
    if (c->x != x || c->n != n) {
        slot_free(&c->low);
        slot_free(&c->top);
        c->x = x;
        c->n = n;
    }
    /* An unfreeze below a slot makes its rows stale: they are no longer the input of the
     * first trainable layer, nor of any layer the step runs. */
    slot *slots[2] = { &c->low, &c->top };
    for (int i = 0; i < 2; i++)
        if (slots[i]->rows && (slots[i]->level > lowest || !slot_current(slots[i], m)))
            slot_free(slots[i]);
    if (!c->top.rows && c->low.rows) {
        c->top = c->low;
        c->low = (slot){0};
    }
    if (lowest == 0 || lowest >= m->n_layers) {   /* no frozen prefix: nothing to cache */
        slot_free(&c->low);
        slot_free(&c->top);
        return;
    }
    if (c->top.rows && c->top.level == lowest)
        return;
    /* The boundary moved up: the old slot starts the steps while the new one fills. */
    if (c->top.rows) {
        slot_free(&c->low);
        c->low = c->top;
        c->top = (slot){0};
    }
    size_t need = slot_bytes(m, n, lowest), cap = o->cache_max_bytes;
    if (cap && c->low.rows && need + c->low.bytes > cap)
        slot_free(&c->low);
    if ((cap && need > cap) || need == SIZE_MAX || !slot_make(&c->top, m, n, lowest)) {
        st->cache_fallback = true;
        snprintf(st->note, sizeof st->note, "the frozen-prefix cache (input of fc%zu, %zu "
                 "samples) needs %zu bytes, %s: recomputing the prefix every step",
                 lowest + 1, n, need, cap && need > cap ? "more than the cap" :
                 "more than could be allocated");
    }
}

/* Whether every sample of the batch has its row in slot s. */
static bool batch_cached(const slot *s, const size_t *idx, size_t B)
{
    if (!s->rows)
        return false;
    for (size_t r = 0; r < B; r++)
        if (!s->valid[idx[r]])
            return false;
    return true;
}

static void gather(float *dst, const float *src, size_t w, const size_t *idx, size_t B)
{
    for (size_t r = 0; r < B; r++)
        memcpy(dst + r * w, src + idx[r] * w, w * sizeof(float));
}

/* Makes the batch buffers (once per trainer). */
static fz_status cache_buffers(struct fz_act_cache *c, const fz_model *m, size_t B)
{
    if (c->bx)
        return FZ_OK;
    size_t w = fz_model_max_width(m);
    c->bx = fz_alloc_floats(B * m->widths[0]);
    c->by = fz_alloc_floats(B * m->widths[m->n_layers]);
    c->bin = fz_alloc_floats(B * w);
    c->rec = fz_alloc_floats(B * w);
    if (!c->bx || !c->by || !c->bin || !c->rec)
        return fz_set_error(FZ_ENOMEM, "fz_epoch_run: out of memory for the batch buffers");
    return FZ_OK;
}

static void add_flops(fz_flops *sum, fz_flops f)
{
    sum->fwd += f.fwd;
    sum->bwd += f.bwd;
    sum->opt += f.opt;
}

/* One step on the samples idx[0..B): from the top slot when it holds them all, else from
 * the low slot or the samples themselves, recording the boundary's input into top. */
static fz_status cache_step(fz_trainer *t, struct fz_act_cache *c, const float *x,
                            const float *y, const size_t *idx, bool contiguous, size_t s,
                            float *loss, bool *from_cache)
{
    const fz_model *m = trainer_step_model(t);
    size_t B = trainer_batch(t), in = m->widths[0], out = m->widths[m->n_layers];
    const float *by = y + s * B * out;
    if (!contiguous) {
        gather(c->by, y, out, idx, B);
        by = c->by;
    }
    fz_step_io io = { 0 };
    const slot *src = batch_cached(&c->top, idx, B) ? &c->top
                    : batch_cached(&c->low, idx, B) ? &c->low : NULL;
    if (src) {
        gather(c->bin, src->rows, m->widths[src->level], idx, B);
        io.start = src->level;
        io.in = c->bin;
    } else if (contiguous) {
        io.in = x + s * B * in;
    } else {
        gather(c->bx, x, in, idx, B);
        io.in = c->bx;
    }
    bool record = c->top.rows && src != &c->top;
    if (record) {
        io.record = c->top.level;
        io.record_dst = c->rec;
    }
    fz_status st = trainer_step(t, &io, by, loss);
    if (st != FZ_OK)
        return st;
    if (record) {
        size_t w = m->widths[c->top.level];
        for (size_t r = 0; r < B; r++) {
            memcpy(c->top.rows + idx[r] * w, c->rec + r * w, w * sizeof(float));
            c->top.valid[idx[r]] = 1;
        }
    }
    *from_cache = src != NULL;
    return FZ_OK;
}

fz_status fz_epoch_run(fz_trainer *t, const float *x, const float *y, size_t n,
                       const size_t *order, const fz_epoch_opts *opts,
                       fz_epoch_stats *stats)
{
    fz_epoch_stats st = { 0 };
    if (stats)
        *stats = st;
    if (!t || !x || !y)
        return fz_set_error(FZ_EINVAL, "fz_epoch_run: %s is NULL",
                            !t ? "trainer" : !x ? "x" : "y");
    size_t B = trainer_batch(t);
    if (n < B)
        return fz_set_error(FZ_EINVAL, "fz_epoch_run: %zu samples are fewer than a batch "
                            "of %zu", n, B);
    for (size_t i = 0; order && i < n; i++)
        if (order[i] >= n)
            return fz_set_error(FZ_EINVAL, "fz_epoch_run: order[%zu] = %zu is not a sample "
                                "(n = %zu)", i, order[i], n);
    fz_epoch_opts o = opts ? *opts : (fz_epoch_opts){0};
    fz_model *m = trainer_step_model(t);
    size_t lowest;
    fz_status rc = trainer_lowest(t, &lowest);
    if (rc != FZ_OK)
        return rc;

    /* The batch buffers live with the cache, which is made even when no rows are
     * cached, so that one path runs every step. */
    struct fz_act_cache **cp = trainer_cache(t);
    if (!*cp && !(*cp = calloc(1, sizeof **cp)))
        return fz_set_error(FZ_ENOMEM, "fz_epoch_run: out of memory for the cache");
    struct fz_act_cache *c = *cp;
    if ((rc = cache_buffers(c, m, B)) != FZ_OK)
        return rc;
    if (o.cache_frozen) {
        cache_sync(c, m, x, n, lowest, &o, &st);
    } else {   /* not asked for: hold no memory for it */
        slot_free(&c->low);
        slot_free(&c->top);
    }

    size_t *seq = NULL;   /* 0..B-1 offsets for the in-order case */
    if (!order && !(seq = malloc(n * sizeof *seq)))
        return fz_set_error(FZ_ENOMEM, "fz_epoch_run: out of memory for the sample order");
    for (size_t i = 0; !order && i < n; i++)
        seq[i] = i;
    const size_t *ord = order ? order : seq;

    double t0 = fz_now(), sum = 0;
    size_t steps = n / B;
    for (size_t s = 0; s < steps; s++) {
        float loss = 0;
        bool cached = false;
        rc = cache_step(t, c, x, y, ord + s * B, !order, s, &loss, &cached);
        if (rc != FZ_OK)
            break;
        sum += loss;
        st.steps++;
        st.cached_steps += cached;
        add_flops(&st.planned, fz_flops_planned(t));
        add_flops(&st.executed, fz_flops_executed(t));
    }
    st.seconds = fz_now() - t0;
    st.loss = st.steps ? sum / (double)st.steps : 0;
    if (rc == FZ_OK && c->top.rows)   /* top now starts every step low did */
        slot_free(&c->low);
    if (c->top.rows) {
        st.cache_layer = c->top.level + 1;
        st.cache_bytes = c->top.bytes + c->low.bytes;
    }
    free(seq);
    if (stats)
        *stats = st;
    return rc;
}
