/*
 * Epochs over a data set: the batches in the caller's order, each step from the
 * frozen-prefix cache (prefix_cache.h) where it holds the batch's samples.  The cache
 * lives with the trainer between calls (trainer_attachment), so the next epoch starts
 * from what this one stored.
 */
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "error.h"
#include "model.h"
#include "prefix_cache.h"
#include "step.h"

/* The cache kept with t, NULL until an epoch made it. */
static prefix_cache **attached_cache(fz_trainer *t)
{
    return (prefix_cache **)trainer_attachment(t, prefix_cache_free);
}

void fz_epoch_cache_drop(fz_trainer *t)
{
    if (!t)
        return;
    prefix_cache *c = *attached_cache(t);
    if (c)
        prefix_cache_drop(c);
}

static void add_flops(fz_flops *sum, fz_flops f)
{
    sum->fwd += f.fwd;
    sum->bwd += f.bwd;
    sum->opt += f.opt;
}

/* The epoch against targets y or labels (the other NULL); `fn` names the call. */
static fz_status epoch_run(const char *fn, fz_trainer *t, const float *x, const float *y,
                           const int32_t *labels, size_t n, const size_t *order,
                           const fz_epoch_opts *opts, fz_epoch_stats *stats)
{
    fz_epoch_stats st = { 0 };
    if (stats)
        *stats = st;
    if (!t || !x || (!y && !labels))
        return set_error(FZ_EINVAL, "%s: %s is NULL", fn,
                         !t ? "trainer" : !x ? "x" : y ? "y" : "labels");
    size_t B = trainer_batch(t);
    if (n < B)
        return set_error(FZ_EINVAL, "%s: %zu samples are fewer than a batch "
                         "of %zu", fn, n, B);
    for (size_t i = 0; order && i < n; i++)
        if (order[i] >= n)
            return set_error(FZ_EINVAL, "%s: order[%zu] = %zu is not a sample "
                             "(n = %zu)", fn, i, order[i], n);
    fz_epoch_opts o = opts ? *opts : (fz_epoch_opts){0};
    size_t steps = n / B;
    if (o.first_step >= steps || o.step_count > steps - o.first_step)
        return set_error(FZ_EINVAL, "%s: first_step %zu, step_count %zu: not a part of "
                         "the epoch's %zu steps", fn, o.first_step, o.step_count, steps);
    size_t end = o.step_count ? o.first_step + o.step_count : steps;
    fz_model *m = trainer_step_model(t);
    size_t level;
    fz_status rc = trainer_cache_level(t, &level);
    if (rc != FZ_OK)
        return rc;

    /* The batch buffers live with the cache, which is made even when no rows are
     * cached, so that one path runs every step. */
    prefix_cache **cp = attached_cache(t);
    if (!*cp && !(*cp = prefix_cache_new(m, B)))
        return FZ_ENOMEM;
    prefix_cache *c = *cp;
    if (o.cache_frozen)
        prefix_cache_sync(c, m, x, n, level, o.cache_max_bytes, &st);
    else   /* not asked for: hold no memory for it */
        prefix_cache_drop(c);

    size_t *seq = NULL;   /* 0..n-1 for the in-order case */
    int32_t *blabels = labels ? malloc(B * sizeof *blabels) : NULL;
    if ((!order && !(seq = malloc(n * sizeof *seq))) || (labels && !blabels)) {
        free(seq);
        free(blabels);
        return set_error(FZ_ENOMEM, "%s: out of memory for the sample order", fn);
    }
    for (size_t i = 0; !order && i < n; i++)
        seq[i] = i;
    const size_t *ord = order ? order : seq;

    double t0 = clock_now(), sum = 0;
    for (size_t s = o.first_step; s < end; s++) {
        const size_t *idx = ord + s * B;
        fz_step_io io;
        const float *by;
        bool cached;
        prefix_cache_batch(c, m, B, x, y, idx, !order, s, &io, &by, &cached);
        for (size_t r = 0; labels && r < B; r++)
            blabels[r] = labels[idx[r]];
        float loss = 0;
        rc = trainer_step(t, &io, &(step_target){ .y = by, .labels = blabels }, &loss);
        if (rc != FZ_OK)
            break;
        prefix_cache_store(c, m, B, &io, idx);
        sum += loss;
        st.steps++;
        st.cached_steps += cached;
        add_flops(&st.planned, fz_flops_planned(t));
        add_flops(&st.executed, fz_flops_executed(t));
    }
    st.seconds = clock_now() - t0;
    st.loss = st.steps ? sum / (double)st.steps : 0;
    /* Only the part that ends the epoch ends it for the cache: the top slot holds what
     * the low one served only once every part has run. */
    prefix_cache_settle(c, rc == FZ_OK && end == steps, &st.cache_layer, &st.cache_bytes);
    free(seq);
    free(blabels);
    if (stats)
        *stats = st;
    return rc;
}

fz_status fz_epoch_run(fz_trainer *t, const float *x, const float *y, size_t n,
                       const size_t *order, const fz_epoch_opts *opts,
                       fz_epoch_stats *stats)
{
    if (!y)   /* checked here: NULL labels below would mean "targets" */
        return set_error(FZ_EINVAL, "fz_epoch_run: y is NULL");
    return epoch_run("fz_epoch_run", t, x, y, NULL, n, order, opts, stats);
}

fz_status fz_epoch_run_labels(fz_trainer *t, const float *x, const int32_t *labels,
                              size_t n, const size_t *order, const fz_epoch_opts *opts,
                              fz_epoch_stats *stats)
{
    if (!labels)
        return set_error(FZ_EINVAL, "fz_epoch_run_labels: labels is NULL");
    return epoch_run("fz_epoch_run_labels", t, x, NULL, labels, n, order, opts, stats);
}
