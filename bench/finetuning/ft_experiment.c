#include "ft_experiment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "rng.h"

/* Keeps the first `max` samples (0: all).  The arrays stay as allocated; only n shrinks,
 * which class_data_free does not mind. */
static void keep_first(fz_class_data *s, size_t max)
{
    if (max && s->n > max)
        s->n = max;
}

fz_status ft_data_load(const ft_args *a, ft_data *d)
{
    memset(d, 0, sizeof *d);
    fz_class_data train = { 0 }, test = { 0 };
    fz_status st = class_data_fashion_mnist(a->data_dir, "train", &train);
    if (st == FZ_OK)
        st = class_data_fashion_mnist(a->data_dir, "t10k", &test);
    if (st == FZ_OK) st = class_data_select(&train, 0, 5, false, &d->pre_train);
    if (st == FZ_OK) st = class_data_select(&test, 0, 5, false, &d->pre_test);
    if (st == FZ_OK) st = class_data_select(&train, 5, 10, true, &d->ft_train);
    if (st == FZ_OK) st = class_data_select(&test, 5, 10, true, &d->ft_test);
    class_data_free(&train);
    class_data_free(&test);
    if (st != FZ_OK) {
        ft_data_free(d);
        return st;
    }
    /* The pretraining head has the 10-class set's class count unless relabelled: the
     * labels are 0-4 either way, and the head has 5 outputs. */
    d->pre_train.classes = d->pre_test.classes = FT_CLASSES;
    keep_first(&d->pre_train, a->max_train);
    keep_first(&d->ft_train, a->max_train);
    keep_first(&d->pre_test, a->max_test);
    keep_first(&d->ft_test, a->max_test);
    if (d->pre_train.n < a->batch || d->ft_train.n < a->batch) {
        size_t n = d->pre_train.n < d->ft_train.n ? d->pre_train.n : d->ft_train.n;
        ft_data_free(d);
        return set_error(FZ_EINVAL, "--batch %zu: larger than the %zu training samples",
                         a->batch, n);
    }
    return FZ_OK;
}

void ft_data_free(ft_data *d)
{
    class_data_free(&d->pre_train);
    class_data_free(&d->pre_test);
    class_data_free(&d->ft_train);
    class_data_free(&d->ft_test);
}

void ft_shuffle(size_t *order, size_t n, uint64_t seed, unsigned epoch)
{
    fz_rng r;
    rng_seed(&r, seed ^ (0x5851f42d4c957f2dull * (epoch + 1)));
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(&r) % i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

/* Trains `m` for `epochs` epochs (from epoch `first`, for the shuffles) without a cache;
 * the pretraining's loop. */
static fz_status train_epochs(fz_trainer *t, const fz_class_data *s, size_t *order,
                              uint64_t seed, unsigned epochs, double *seconds)
{
    for (unsigned e = 0; e < epochs; e++) {
        ft_shuffle(order, s->n, seed, e);
        fz_epoch_stats stats;
        double t0 = clock_now();
        fz_status st = fz_epoch_run_labels(t, s->x, s->y, s->n, order, NULL, &stats);
        *seconds += clock_now() - t0;
        if (st != FZ_OK)
            return st;
    }
    return FZ_OK;
}

fz_status ft_pretrain(const ft_args *a, const ft_data *d, fz_model **out, double *accuracy,
                      double *seconds)
{
    *out = NULL;
    *seconds = 0;
    fz_model *m = fz_mlp_create(a->widths, a->n_widths, a->seed);
    size_t *order = malloc(d->pre_train.n * sizeof *order);
    fz_train_opts o = ft_optimizer_opts(FZ_OPTIM_ADAMW);
    fz_trainer *t = m ? fz_trainer_create_opts(m, a->batch, &o) : NULL;
    fz_status st = t && order ? FZ_OK : set_error(FZ_ENOMEM, "pretraining: %s",
                                                  fz_last_error());
    /* The pretraining's shuffles are seeded apart from the fine-tuning's. */
    if (st == FZ_OK)
        st = train_epochs(t, &d->pre_train, order, ~a->seed, a->pretrain_epochs, seconds);
    fz_eval ev;
    if (st == FZ_OK)
        st = fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, d->pre_test.n, d->pre_test.x, NULL,
                         d->pre_test.y, &ev);
    fz_trainer_free(t);
    free(order);
    if (st != FZ_OK) {
        fz_model_free(m);
        return st;
    }
    *accuracy = ev.accuracy;
    *out = m;
    return FZ_OK;
}

/* The new model: the pretrained hidden layers, and the head of a model drawn from
 * seed+1, so every run starts from the same head and none from the pretraining's. */
static fz_model *new_model(const ft_args *a, fz_model *pretrained)
{
    fz_model *m = fz_mlp_create(a->widths, a->n_widths, a->seed + 1);
    size_t hidden = a->n_widths - 2;
    for (size_t i = 0; m && i < fz_param_count(m); i++) {
        const char *name = fz_param_name(m, i);
        if (strncmp(name, "fc", 2) != 0 || strtoul(name + 2, NULL, 10) > hidden)
            continue;   /* the head (fcL) stays new */
        size_t n, n_src;
        float *dst = fz_param_data(m, name, &n);
        const float *src = fz_param_data(pretrained, name, &n_src);
        if (!dst || !src || n != n_src) {
            fz_model_free(m);
            return NULL;
        }
        memcpy(dst, src, n * sizeof *dst);
    }
    return m;
}

/* The layers below the first one with a trainable tensor: the prefix whose output a
 * frozen-prefix cache keeps (0: none). */
static size_t frozen_depth(const fz_model *m)
{
    for (size_t i = 0; i < fz_param_count(m); i++) {
        const char *name = fz_param_name(m, i);   /* fcK.weight, fcK.bias, in order */
        if (fz_requires_grad(m, name))
            return strtoul(name + 2, NULL, 10) - 1;
    }
    return fz_layer_count(m);
}

bool ft_spec_caches(const ft_args *a, const ft_spec *spec)
{
    fz_model *m = fz_mlp_create(a->widths, a->n_widths, 0);
    bool yes = false;
    if (!m)
        return false;
    if (spec->schedule) {
        fz_freeze_schedule *s = fz_freeze_schedule_parse(spec->text);
        yes = s && fz_freeze_schedule_apply(s, m, 0, NULL) == FZ_OK;
        fz_freeze_schedule_free(s);
    } else {
        yes = fz_freeze(m, spec->text) == FZ_OK;
    }
    yes = yes && frozen_depth(m) > 0;
    fz_model_free(m);
    return yes;
}

/* Why not the cache in every epoch: a cache no step reads is rows copied out for
 * nothing.  `gradual` unfreezes the top of the prefix every epoch, and with the cache on
 * throughout it ran 3-9% slower than without (Zen 3: the default run and the medians
 * of the interleaved comparison against PyTorch). */
fz_status ft_cache_epochs(const ft_args *a, const ft_spec *spec, bool *use)
{
    fz_model *m = fz_mlp_create(a->widths, a->n_widths, 0);
    fz_freeze_schedule *sched = spec->schedule ? fz_freeze_schedule_parse(spec->text) : NULL;
    size_t *depth = calloc(a->epochs, sizeof *depth);
    fz_status st = m && depth ? FZ_OK : set_error(FZ_ENOMEM, "fine-tuning: out of memory");
    if (st == FZ_OK && spec->schedule && !sched)
        st = FZ_EINVAL;   /* the parser's message stands */
    if (st == FZ_OK && !spec->schedule)
        st = fz_freeze(m, spec->text);
    for (unsigned e = 0; e < a->epochs && st == FZ_OK; e++) {
        if (sched)
            st = fz_freeze_schedule_apply(sched, m, e, NULL);
        depth[e] = frozen_depth(m);
    }
    for (unsigned e = 0; e < a->epochs && st == FZ_OK; e++) {
        bool read_now = e > 0 && use[e - 1] && depth[e - 1] <= depth[e];
        bool read_next = e + 1 < a->epochs && depth[e + 1] >= depth[e];
        use[e] = depth[e] > 0 && (read_now || read_next);
    }
    free(depth);
    fz_freeze_schedule_free(sched);
    fz_model_free(m);
    return st;
}

/* Freezes per the run's spec before epoch e (a schedule's entry, if it has one then). */
static fz_status apply_spec(const ft_spec *spec, fz_freeze_schedule *sched, fz_model *m,
                            unsigned e)
{
    if (sched)
        return fz_freeze_schedule_apply(sched, m, e, NULL);
    return e == 0 ? fz_freeze(m, spec->text) : FZ_OK;
}

size_t ft_part_end(size_t steps, unsigned evals, unsigned j)
{
    return (size_t)((unsigned long long)j * steps / evals);
}

/* Trains part j (1-based) of epoch e of `run` and evaluates after it: one row of
 * run->evals.  *total is the run's training time so far. */
static fz_status train_part(const ft_args *a, const ft_data *d, fz_model *m, fz_trainer *t,
                            const size_t *order, unsigned e, unsigned j, bool cache,
                            ft_run *run, double *total)
{
    const fz_class_data *tr = &d->ft_train, *te = &d->ft_test;
    size_t steps = tr->n / a->batch;
    size_t first = ft_part_end(steps, a->evals_per_epoch, j - 1),
           end = ft_part_end(steps, a->evals_per_epoch, j);
    fz_epoch_opts eo = { .cache_frozen = cache, .first_step = first,
                         .step_count = end - first };
    fz_epoch_stats stats;
    double t0 = clock_now();
    fz_status st = fz_epoch_run_labels(t, tr->x, tr->y, tr->n, order, &eo, &stats);
    double dt = clock_now() - t0;   /* training only: the evaluation below is not timed */
    if (st != FZ_OK)
        return st;
    *total += dt;
    fz_eval ev;
    if ((st = fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, te->n, te->x, NULL, te->y, &ev)) != FZ_OK)
        return st;
    run->evals[run->n_evals++] = (ft_eval){
        .epoch = e + 1, .evaluation = j, .epochs_done = e + (double)end / (double)steps,
        .time_s = *total, .part_s = dt, .train_loss = stats.loss, .test_loss = ev.loss,
        .test_accuracy = ev.accuracy, .trainable = fz_trainable_elements(m),
        .frozen = fz_frozen_elements(m), .optimizer_bytes = fz_memory_used(t).optimizer,
        .cache_bytes = stats.cache_bytes, .steps = stats.steps,
        .cached_steps = stats.cached_steps };
    if (ev.accuracy > run->best_accuracy)
        run->best_accuracy = ev.accuracy;
    return FZ_OK;
}

fz_status ft_finetune(const ft_args *a, const ft_data *d, fz_model *pretrained, ft_run *run)
{
    const fz_class_data *tr = &d->ft_train;
    fz_model *m = new_model(a, pretrained);
    size_t *order = malloc(tr->n * sizeof *order);
    fz_freeze_schedule *sched = NULL;
    fz_trainer *t = NULL;
    bool *cache = calloc(a->epochs, sizeof *cache);
    fz_status st = m && order && cache ? FZ_OK
                 : set_error(FZ_ENOMEM, "fine-tuning: out of memory");
    if (st == FZ_OK && run->cache)
        st = ft_cache_epochs(a, run->spec, cache);
    if (st == FZ_OK && tr->n / a->batch < a->evals_per_epoch)
        st = set_error(FZ_EINVAL, "--evals-per-epoch %u: more than the %zu steps of an "
                       "epoch", a->evals_per_epoch, tr->n / a->batch);
    if (st == FZ_OK && run->spec->schedule) {
        sched = fz_freeze_schedule_parse(run->spec->text);
        st = sched ? fz_freeze_schedule_check(sched, m) : FZ_EINVAL;
    }
    /* The first epoch's freezing happens before the trainer exists: a trainer needs
     * something trainable, and its state then starts with the spec's tensors only. */
    if (st == FZ_OK)
        st = apply_spec(run->spec, sched, m, 0);
    fz_train_opts o = ft_optimizer_opts(run->optim);
    if (st == FZ_OK && !(t = fz_trainer_create_opts(m, a->batch, &o)))
        st = FZ_EINVAL;
    double total = 0;
    run->best_accuracy = 0;
    run->n_evals = 0;
    for (unsigned e = 0; e < a->epochs && st == FZ_OK; e++) {
        ft_shuffle(order, tr->n, a->seed, e);
        if (e > 0 && (st = apply_spec(run->spec, sched, m, e)) != FZ_OK)
            break;
        for (unsigned j = 1; j <= a->evals_per_epoch && st == FZ_OK; j++)
            st = train_part(a, d, m, t, order, e, j, cache[e], run, &total);
    }
    fz_trainer_free(t);
    fz_freeze_schedule_free(sched);
    free(cache);
    free(order);
    fz_model_free(m);
    return st;
}

void ft_targets(ft_run *runs, size_t n, double fraction)
{
    for (size_t i = 0; i < n; i++) {
        ft_run *r = &runs[i];
        r->target_accuracy = r->time_to_target_s = r->target_epochs_done = NAN;
        r->target_epoch = 0;
        for (size_t j = 0; j < n; j++)
            if (runs[j].optim == r->optim && !runs[j].cache &&
                !strcmp(runs[j].spec->name, "none"))
                r->target_accuracy = fraction * runs[j].best_accuracy;
        for (size_t k = 0; k < r->n_evals && !isnan(r->target_accuracy); k++) {
            const ft_eval *ev = &r->evals[k];
            if (ev->test_accuracy >= r->target_accuracy) {
                r->time_to_target_s = ev->time_s;
                r->target_epoch = ev->epoch;
                r->target_epochs_done = ev->epochs_done;
                break;
            }
        }
    }
}
