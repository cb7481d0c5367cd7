/* The frozen-prefix activation cache (prefix_cache.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "error.h"
#include "prefix_cache.h"

typedef struct {
    size_t level;            /* 0-based layer whose input is stored; 0 = empty slot */
    float *rows;             /* n × widths[level] */
    unsigned char *valid;    /* per sample: its row is stored */
    uint64_t made_at;        /* the model's clock when the slot was made */
    size_t bytes;
} slot;

struct prefix_cache {
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
    *s = (slot){0};
}

void prefix_cache_drop(prefix_cache *c)
{
    slot_free(&c->low);
    slot_free(&c->top);
}

void prefix_cache_free(void *p)
{
    prefix_cache *c = p;
    if (!c)
        return;
    prefix_cache_drop(c);
    free(c->bx);
    free(c->by);
    free(c->bin);
    free(c->rec);
    free(c);
}

prefix_cache *prefix_cache_new(const fz_model *m, size_t B)
{
    prefix_cache *c = calloc(1, sizeof *c);
    size_t w = model_max_width(m);
    if (c) {
        c->bx = alloc_floats(B * m->widths[0]);
        c->by = alloc_floats(B * m->widths[m->n_layers]);
        c->bin = alloc_floats(B * w);
        c->rec = alloc_floats(B * w);
    }
    if (!c || !c->bx || !c->by || !c->bin || !c->rec) {
        prefix_cache_free(c);
        set_error(FZ_ENOMEM, "fz_epoch_run: out of memory for the batch buffers");
        return NULL;
    }
    return c;
}

/* A slot stays valid while every tensor below its level is unwritten (the trainer only
 * writes the tensors it trains, which lie at or above the level). */
static bool slot_current(const slot *s, const fz_model *m)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].layer < s->level &&
            !model_current(s->made_at, m->tensors[i].changed_at))
            return false;
    return true;
}

static size_t slot_bytes(const fz_model *m, size_t n, size_t level)
{
    size_t b;
    if (!size_mul_ok(n, m->widths[level], &b) || !size_mul_ok(b, sizeof(float), &b) ||
        !size_add_ok(b, n, &b))
        return SIZE_MAX;
    return b;
}

static bool slot_make(slot *s, const fz_model *m, size_t n, size_t level)
{
    s->level = level;
    s->bytes = slot_bytes(m, n, level);
    s->rows = alloc_floats(n * m->widths[level]);
    s->valid = calloc(n, 1);
    s->made_at = m->clock;
    if (!s->rows || !s->valid) {
        slot_free(s);
        return false;
    }
    return true;
}

void prefix_cache_sync(prefix_cache *c, const fz_model *m, const float *x, size_t n,
                       size_t level, size_t cap, fz_epoch_stats *st)
{
    if (c->x != x || c->n != n) {
        prefix_cache_drop(c);
        c->x = x;
        c->n = n;
    }
    /* An unfreeze below a slot makes its rows stale: they are no longer the input of the
     * first trainable layer, nor of any layer the step runs.  (A level of 0 means no
     * cache, so every slot goes.) */
    slot *slots[2] = { &c->low, &c->top };
    for (int i = 0; i < 2; i++)
        if (slots[i]->rows && (slots[i]->level > level || !slot_current(slots[i], m)))
            slot_free(slots[i]);
    if (!c->top.rows && c->low.rows) {
        c->top = c->low;
        c->low = (slot){0};
    }
    if (level == 0) {   /* no frozen prefix: nothing to cache */
        prefix_cache_drop(c);
        return;
    }
    if (c->top.rows && c->top.level == level)
        return;
    /* The level moved up: the old slot starts the steps while the new one fills. */
    if (c->top.rows) {
        slot_free(&c->low);
        c->low = c->top;
        c->top = (slot){0};
    }
    size_t need = slot_bytes(m, n, level);
    if (cap && c->low.rows && need + c->low.bytes > cap)
        slot_free(&c->low);
    if ((cap && need > cap) || need == SIZE_MAX || !slot_make(&c->top, m, n, level)) {
        st->cache_fallback = true;
        snprintf(st->note, sizeof st->note, "the frozen-prefix cache (input of fc%zu, %zu "
                 "samples) needs %zu bytes, %s: recomputing the prefix every step",
                 level + 1, n, need, cap && need > cap ? "more than the cap" :
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

void prefix_cache_batch(prefix_cache *c, const fz_model *m, size_t B, const float *x,
                        const float *y, const size_t *idx, bool contiguous, size_t b,
                        fz_step_io *io, const float **by, bool *from_cache)
{
    size_t in = m->widths[0], out = m->widths[m->n_layers];
    /* No targets (a cross-entropy epoch gathers its labels itself): none to gather. */
    *by = y ? y + b * B * out : NULL;
    if (y && !contiguous) {
        gather(c->by, y, out, idx, B);
        *by = c->by;
    }
    *io = (fz_step_io){ 0 };
    const slot *src = batch_cached(&c->top, idx, B) ? &c->top
                    : batch_cached(&c->low, idx, B) ? &c->low : NULL;
    if (src) {
        gather(c->bin, src->rows, m->widths[src->level], idx, B);
        io->start = src->level;
        io->in = c->bin;
    } else if (contiguous) {
        io->in = x + b * B * in;
    } else {
        gather(c->bx, x, in, idx, B);
        io->in = c->bx;
    }
    if (c->top.rows && src != &c->top) {
        io->record = c->top.level;
        io->record_dst = c->rec;
    }
    *from_cache = src != NULL;
}

void prefix_cache_store(prefix_cache *c, const fz_model *m, size_t B, const fz_step_io *io,
                        const size_t *idx)
{
    if (!io->record_dst)
        return;
    size_t w = m->widths[c->top.level];
    for (size_t r = 0; r < B; r++) {
        memcpy(c->top.rows + idx[r] * w, c->rec + r * w, w * sizeof(float));
        c->top.valid[idx[r]] = 1;
    }
}

void prefix_cache_settle(prefix_cache *c, bool epoch_completed, size_t *level,
                         size_t *bytes)
{
    if (epoch_completed && c->top.rows)
        slot_free(&c->low);
    *level = c->top.rows ? c->top.level : 0;
    *bytes = c->top.rows ? c->top.bytes + c->low.bytes : 0;
}
