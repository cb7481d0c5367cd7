/*
 * Epochs over a data set: the batches in the caller's order, each step from the
 * frozen-prefix cache (prefix_cache.h) where it holds the batch's samples.  The cache
 * lives with the trainer between calls (trainer_attachment), so the next epoch starts
 * from what this one stored.
 */
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

fz_status fz_epoch_run(fz_trainer *t, const float *x, const float *y, size_t n,
                       const size_t *order, const fz_epoch_opts *opts,
                       fz_epoch_stats *stats)
{
    fz_epoch_stats st = { 0 };
    if (stats)
        *stats = st;
    if (!t || !x || !y)
        return set_error(FZ_EINVAL, "fz_epoch_run: %s is NULL",
                         !t ? "trainer" : !x ? "x" : "y");
    size_t B = trainer_batch(t);
    if (n < B)
        return set_error(FZ_EINVAL, "fz_epoch_run: %zu samples are fewer than a batch "
                         "of %zu", n, B);
    for (size_t i = 0; order && i < n; i++)
        if (order[i] >= n)
            return set_error(FZ_EINVAL, "fz_epoch_run: order[%zu] = %zu is not a sample "
                             "(n = %zu)", i, order[i], n);
    fz_epoch_opts o = opts ? *opts : (fz_epoch_opts){0};
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
    if (!order && !(seq = malloc(n * sizeof *seq)))
        return set_error(FZ_ENOMEM, "fz_epoch_run: out of memory for the sample order");
    for (size_t i = 0; !order && i < n; i++)
        seq[i] = i;
    const size_t *ord = order ? order : seq;

    double t0 = clock_now(), sum = 0;
    size_t steps = n / B;
    for (size_t s = 0; s < steps; s++) {
        const size_t *idx = ord + s * B;
        fz_step_io io;
        const float *by;
        bool cached;
        prefix_cache_batch(c, m, B, x, y, idx, !order, s, &io, &by, &cached);
        float loss = 0;
        rc = trainer_step(t, &io, &(step_target){ .y = by }, &loss);
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
    prefix_cache_settle(c, rc == FZ_OK, &st.cache_layer, &st.cache_bytes);
    free(seq);
    if (stats)
        *stats = st;
    return rc;
}
