#include "sweep_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "align.h"
#include "clock.h"
#include "error.h"
#include "machine_info.h"   /* fzb_physical_memory_bytes */
#include "rng.h"
#include "units.h"

static const char *const phase_names[N_PHASES] = { "forward", "backward", "optimizer", "step" };
const char *const fzb_sweep_kind_names[N_KINDS] = { "step", "epoch", "epoch_cached" };

static const fz_sgd sgd = { .lr = 1e-4f, .momentum = 0.9f, .weight_decay = 0.0f };

fz_status fzb_sweep_set_spec(bench_model *bm, const char *spec)
{
    fz_status s = fz_unfreeze(bm->m, "*");
    if (s == FZ_OK)
        s = fz_freeze(bm->m, spec);
    bm->current_spec = s == FZ_OK ? spec : NULL;
    if (s == FZ_OK && fz_trainable_elements(bm->m) == 0)
        s = set_error(FZ_EINVAL, "freezes every parameter: nothing to train");
    return s;
}

/* The library's message of the call that just failed, copied: set_error formats into
 * the very buffer fz_last_error() returns, so passing it as an argument would overwrite
 * the cause while it is being read (the message repeats its own start instead). */
typedef struct { char text[512]; } cause;

static cause last_cause(void)
{
    cause c;
    snprintf(c.text, sizeof c.text, "%s", fz_last_error());
    return c;
}

/* The default specs of an archive's model in the archive's names: the one layer
 * "fcK.*" becomes that layer's own prefix ("2.*" for nn.Sequential's second Linear). */
static void archive_names(bench_model *bm)
{
    for (size_t si = 0; si < FZB_DEFAULT_SPECS; si++) {
        char *spec = bm->fitted[si];
        size_t k;
        char weight[FZB_SPEC_TEXT + 8], tail[4] = "";
        if (sscanf(spec, "fc%zu.%1s", &k, tail) != 2 || strcmp(tail, "*"))
            continue;
        snprintf(weight, sizeof weight, "fc%zu.weight", k);
        for (size_t i = 0; i < fz_param_count(bm->m); i++) {
            if (strcmp(fz_param_name(bm->m, i), weight))
                continue;
            const char *own = fz_param_state_name(bm->m, i);
            size_t plen = strlen(own) - strlen(".weight");
            if (plen + 2 < FZB_SPEC_TEXT)
                snprintf(spec, FZB_SPEC_TEXT, "%.*s.*", (int)plen, own);
        }
    }
}

static fz_status model_init(bench_model *bm, const fzb_model_arg *arg, size_t batch,
                            size_t n_epoch, int ranks)
{
    bm->arg = arg;
    bm->batch = batch;
    bm->m = arg->path[0] ? fz_mlp_from_state_dict(arg->path, NULL)
                         : fz_mlp_create(arg->widths, arg->n_widths, 42);
    if (!bm->m && ranks <= 1)
        return set_error(FZ_ENOMEM, "cannot create model %s: %s", arg->name,
                         last_cause().text);
    if (ranks > 1) {   /* collective; the trainer is the rank's own, at batch/ranks rows */
        /* Called even without a model: fz_dp_create is where the ranks agree, so a rank
         * whose model could not be made fails there together with the others instead
         * of leaving them waiting in it. */
        cause model_cause = bm->m ? (cause){ "" } : last_cause();
        bm->dp = fz_dp_create(bm->m, batch, sgd, NULL);
        if (!bm->m)
            return set_error(FZ_ENOMEM, "cannot create model %s: %s", arg->name,
                             model_cause.text);
        if (!bm->dp)
            return set_error(FZ_EINVAL, "model %s at batch %zu: %s", arg->name, batch,
                             last_cause().text);
        bm->t = fz_dp_trainer(bm->dp);
    } else {
        bm->t = fz_trainer_create(bm->m, batch, sgd);
        if (!bm->t)
            return set_error(FZ_ENOMEM, "model %s at batch %zu: %s", arg->name, batch,
                             last_cause().text);
    }
    size_t in = arg->widths[0], out = arg->widths[arg->n_widths - 1];
    /* The caller's x and y on 64-byte lines, as the trainer's own buffers and PyTorch's
     * tensors are (src/core/align.h says why it matters). */
    bm->x = alloc_floats(batch * in);
    bm->y = alloc_floats(batch * out);
    if (!bm->x || !bm->y)
        return set_error(FZ_ENOMEM, "out of memory for model %s's inputs and targets at "
                         "batch %zu", arg->name, batch);
    rng_fill(bm->x, batch * in, 1, -1.0f, 1.0f);
    rng_fill(bm->y, batch * out, 2, -1.0f, 1.0f);
    if (n_epoch == 0)
        return FZ_OK;
    if (n_epoch < batch)
        return set_error(FZ_EINVAL, "--epoch-samples %zu: fewer than model %s's batch of "
                         "%zu", n_epoch, arg->name, batch);
    bm->n_epoch = n_epoch;
    bm->ex = alloc_floats(n_epoch * in);
    bm->ey = alloc_floats(n_epoch * out);
    if (!bm->ex || !bm->ey)
        return set_error(FZ_ENOMEM, "out of memory for %zu epoch samples of model %s",
                         n_epoch, arg->name);
    rng_fill(bm->ex, n_epoch * in, 3, -1.0f, 1.0f);
    rng_fill(bm->ey, n_epoch * out, 4, -1.0f, 1.0f);
    return FZ_OK;
}

void fzb_sweep_free(fzb_sweep *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_models; i++) {
        if (s->models[i].dp)
            fz_dp_free(s->models[i].dp);   /* and its trainer */
        else
            fz_trainer_free(s->models[i].t);
        fz_model_free(s->models[i].m);
        free(s->models[i].x);
        free(s->models[i].y);
        free(s->models[i].ex);
        free(s->models[i].ey);
    }
    free(s->models);
    for (size_t i = 0; s->configs && i < s->n_configs; i++)
        for (int p = 0; p < N_PHASES; p++)
            free(s->configs[i].samples[p]);
    free(s->configs);
    free(s);
}

fz_status fzb_sweep_create(const fzb_sweep_args *a, int cores, FILE *notes, fzb_sweep **out)
{
    return fzb_sweep_create_ranks(a, cores, notes, 1, out);
}

/* What this process may use: FZB_SWEEP_MEMORY_SHARE of the physical memory, or less
 * where an address-space or data limit (ulimit -v, -d) is lower; 0 if nothing is known.
 * `what` says which, for the message. */
static double usable_memory(char *what, size_t size)
{
    double phys = fzb_physical_memory_bytes(), usable = 0;
    char text[FZB_UNIT_TEXT];
    if (phys > 0) {
        usable = FZB_SWEEP_MEMORY_SHARE * phys;
        snprintf(what, size, "%.0f%% of this machine's %s of physical memory",
                 100 * FZB_SWEEP_MEMORY_SHARE, fzb_fmt_bytes(text, sizeof text, phys));
    }
    static const struct { int resource; const char *name; } limits[] = {
        { RLIMIT_AS, "the address-space limit (ulimit -v)" },
        { RLIMIT_DATA, "the data-segment limit (ulimit -d)" },
    };
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        struct rlimit rl;
        if (getrlimit(limits[i].resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
            continue;
        if (usable <= 0 || (double)rl.rlim_cur < usable) {
            usable = (double)rl.rlim_cur;
            snprintf(what, size, "%s", limits[i].name);
        }
    }
    return usable;
}

fz_status fzb_sweep_check_memory_here(const fzb_sweep_args *a, int ranks)
{
    char what[160] = "";
    double usable = usable_memory(what, sizeof what);
    return fzb_sweep_check_memory(a, ranks, usable, what);
}

fz_status fzb_sweep_create_ranks(const fzb_sweep_args *a, int cores, FILE *notes, int ranks,
                                 fzb_sweep **out)
{
    *out = NULL;
    /* A sweep that cannot fit is refused before the first byte is allocated.  Under
     * mpirun the ranks may sit on machines of other sizes: one refusing alone while the
     * others enter fz_dp_create's collectives would hang the job, so there each rank
     * checks before the ranks agree to go on (sweep_dp.c), not here. */
    if (ranks <= 1 && fzb_sweep_check_memory_here(a, 1) != FZ_OK)
        return FZ_ENOMEM;
    fzb_sweep *s = calloc(1, sizeof *s);
    if (!s)
        return set_error(FZ_ENOMEM, "out of memory creating the sweep");
    for (size_t i = 0; i < a->n_threads; i++) {
        int t = a->threads[i] == 0 ? cores : a->threads[i];
        bool seen = false;
        for (size_t j = 0; j < s->n_threads; j++)
            seen |= s->threads[j] == t;
        if (!seen)
            s->threads[s->n_threads++] = t;
    }
    size_t n_batches = a->n_batches ? a->n_batches : 1;
    s->progress = notes;
    s->ranks = ranks > 1 ? ranks : 1;
    s->models = calloc(a->n_models * n_batches, sizeof *s->models);
    size_t most_specs = a->fit_default_specs ? FZB_DEFAULT_SPECS : a->n_specs;
    size_t kinds = a->epoch_samples ? N_KINDS : 1;
    s->configs = calloc(a->n_models * n_batches * most_specs * s->n_threads * kinds,
                        sizeof *s->configs);
    if (!s->models || !s->configs) {
        fzb_sweep_free(s);
        return set_error(FZ_ENOMEM, "out of memory for the sweep's models and "
                         "configurations");
    }
    bool spec_used[FZB_SWEEP_MAX] = { true };   /* none always fits */
    char why_not[FZB_SWEEP_MAX][160] = { "" };   /* each --spec: a model it did not fit, why */
    for (size_t mi = 0; mi < a->n_models; mi++) {
        for (size_t bi = 0; bi < n_batches; bi++) {
            size_t batch = a->n_batches ? a->batches[bi] : a->models[mi].batch;
            bench_model *bm = &s->models[s->n_models++];
            fz_status st = model_init(bm, &a->models[mi], batch, a->epoch_samples, s->ranks);
            if (st != FZ_OK) {
                fzb_sweep_free(s);
                return st;
            }
            /* Without --spec, the defaults fitted to this model's depth, not a list that
             * fits only the deepest model. */
            const char *specs[FZB_SWEEP_MAX];
            size_t n_specs = a->n_specs;
            memcpy(specs, a->specs, n_specs * sizeof *specs);
            if (a->fit_default_specs) {
                n_specs = fzb_default_specs(a->models[mi].n_widths - 1, bm->fitted);
                if (bm->arg->path[0])
                    archive_names(bm);
                for (size_t si = 0; si < n_specs; si++)
                    specs[si] = bm->fitted[si];
            }
            for (size_t si = 0; si < n_specs; si++) {
                if (fzb_sweep_set_spec(bm, specs[si]) != FZ_OK) {
                    if (!a->fit_default_specs && why_not[si][0] == '\0')
                        snprintf(why_not[si], sizeof why_not[si], "on %s: %s", bm->arg->name,
                                 fz_last_error());
                    if (notes)
                        fprintf(notes, "freeze_sweep: skipping spec '%s' on model %s: %s\n",
                                specs[si], bm->arg->name, fz_last_error());
                    continue;
                }
                spec_used[si] = true;
                for (size_t k = 0; k < kinds; k++)
                    for (size_t ti = 0; ti < s->n_threads; ti++) {
                        config *c = &s->configs[s->n_configs++];
                        c->sweep = s;
                        c->bm = bm;
                        c->spec = specs[si];
                        c->threads = s->threads[ti];
                        c->kind = (config_kind)k;
                        snprintf(c->name, sizeof c->name, "sweep/%s/batch:%zu/%s/threads:%d%s%s",
                                 bm->arg->name, batch, c->spec, c->threads, k ? "/" : "",
                                 k ? fzb_sweep_kind_names[k] : "");
                    }
            }
        }
    }
    for (size_t si = 0; !a->fit_default_specs && si < a->n_specs; si++) {
        if (!spec_used[si]) {
            fzb_sweep_free(s);
            return set_error(FZ_EINVAL, "--spec '%s': fits none of the models (%s)",
                             a->specs[si], why_not[si]);
        }
    }
    *out = s;
    return FZ_OK;
}

size_t fzb_sweep_count(const fzb_sweep *s) { return s->n_configs; }

void fzb_sweep_threads_text(const fzb_sweep *s, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->n_threads && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%d", i ? "_" : "", s->threads[i]);
}

/* Flags and threads as the configuration wants them, then one untimed step so the plan's
 * buffers and the thread team exist before the clock runs.  The thread count is the
 * process's, not the model's: another model's configuration may have changed it since
 * this model last ran, so it is read back from the team rather than remembered. */
static fz_status prepare(config *c)
{
    bench_model *bm = c->bm;
    if (bm->current_spec == c->spec && fz_get_threads() == c->threads)
        return FZ_OK;
    fz_status s = bm->current_spec == c->spec ? FZ_OK : fzb_sweep_set_spec(bm, c->spec);
    if (s != FZ_OK)
        return s;
    fz_set_threads(c->threads);
    if (fz_get_threads() != c->threads)
        return set_error(FZ_EINVAL, "asked for %d threads, the team has %d",
                         c->threads, fz_get_threads());
    return fz_train_step(bm->t, bm->x, bm->y, NULL);
}

void fzb_sweep_expect_extra(fzb_sweep *s, size_t n) { s->reps_expected += n; }

void fzb_sweep_repetition_done(void *sweep)
{
    fzb_sweep *s = sweep;
    if (!s->progress || s->reps_done == s->reps_expected)
        return;
    s->reps_done++;
    double t = clock_now();
    if (t - s->t_printed < 2.0 && s->reps_done < s->reps_expected)
        return;
    s->t_printed = t;
    double elapsed = t - s->t_start;
    double left = s->reps_done ? elapsed * (double)(s->reps_expected - s->reps_done)
                                 / (double)s->reps_done : 0;
    fprintf(s->progress, "freeze_sweep: ~%zu of %zu repetitions done, %.0f s elapsed, ~%.0f s "
            "left\n", s->reps_done, s->reps_expected, elapsed, left > 0 ? left : 0);
}

/* Counts the run of c that just ended, `seconds` long, as a repetition in the progress
 * line if Google Benchmark (1.7) takes it as one.  A benchmark's first repetition grows
 * its iteration count through trial runs until a run lasts min_time of real time (or
 * fails); the later repetitions reuse that count, and each is a repetition whatever it
 * lasts.  So a run counts when one of c's already did, when it lasted min_time, or when
 * it failed.  Counting every run of half min_time took trials for repetitions: the count
 * reached the total early, the line said "~0 s left" and then stopped, while long epoch
 * repetitions still ran.  c->reps counts during the run (collect_times later sets it
 * from the finished runs). */
static void count_repetition(config *c, double seconds, bool failed)
{
    if (c->reps == 0 && seconds < c->sweep->min_time && !failed)
        return;
    c->reps++;
    fzb_sweep_repetition_done(c->sweep);
}

static void skip_with_error(fzb_state *st, config *c)
{
    count_repetition(c, 0, true);
    fzb_skip_with_error(st, fz_last_error());
}

/* One iteration = one epoch over the model's epoch samples.  The cached kind first runs
 * untimed epochs until every step starts from the cache: the row is the steady state
 * after the cache is built (the build is an epoch like the uncached one, plus copies). */
static void bench_epoch(fzb_state *st, config *c)
{
    bench_model *bm = c->bm;
    fz_epoch_opts o = { .cache_frozen = c->kind == KIND_EPOCH_CACHED };
    fz_epoch_stats es = { 0 };
    for (int warm = 0; o.cache_frozen && warm < 3 && (warm == 0 || es.cached_steps < es.steps);
         warm++)
        if (fz_epoch_run(bm->t, bm->ex, bm->ey, bm->n_epoch, NULL, &o, &es) != FZ_OK) {
            skip_with_error(st, c);
            return;
        }
    double t0 = clock_now();
    while (fzb_keep_running(st)) {
        if (fz_epoch_run(bm->t, bm->ex, bm->ey, bm->n_epoch, NULL, &o, &es) != FZ_OK) {
            skip_with_error(st, c);
            return;
        }
    }
    c->planned = es.planned;
    c->executed = es.executed;
    c->cache_bytes = es.cache_bytes;
    c->mem = fz_memory_used(bm->t);
    c->update = fz_update_last(bm->t);
    c->trainable = fz_trainable_elements(bm->m);
    c->frozen = fz_frozen_elements(bm->m);
    c->ran = true;
    fzb_counter(st, "threads", fz_get_threads(), FZB_PLAIN);
    count_repetition(c, clock_now() - t0, false);
}

static void bench_config(fzb_state *st, void *user)
{
    config *c = user;
    bench_model *bm = c->bm;
    if (prepare(c) != FZ_OK) {
        skip_with_error(st, c);
        return;
    }
    if (c->kind != KIND_STEP) {
        bench_epoch(st, c);
        return;
    }
    double fwd = 0, bwd = 0, opt = 0, t0 = clock_now();
    while (fzb_keep_running(st)) {
        if (fz_train_step(bm->t, bm->x, bm->y, NULL) != FZ_OK) {
            skip_with_error(st, c);
            return;
        }
        fz_times t = fz_times_last(bm->t);
        fwd += t.fwd;
        bwd += t.bwd;
        opt += t.opt;
    }
    c->planned = fz_flops_planned(bm->t);
    c->executed = fz_flops_executed(bm->t);
    c->bwd_planned = fz_bwd_planned(bm->t);
    c->bwd_executed = fz_bwd_executed(bm->t);
    c->mem = fz_memory_used(bm->t);
    c->update = fz_update_last(bm->t);
    c->trainable = fz_trainable_elements(bm->m);
    c->frozen = fz_frozen_elements(bm->m);
    c->ran = true;
    fzb_counter(st, "fwd_s", fwd, FZB_PER_ITER);
    fzb_counter(st, "bwd_s", bwd, FZB_PER_ITER);
    fzb_counter(st, "opt_s", opt, FZB_PER_ITER);
    fzb_counter(st, "threads", fz_get_threads(), FZB_PLAIN);
    fzb_counter(st, "FLOPS", c->planned.fwd + c->planned.bwd + c->planned.opt, FZB_RATE);
    count_repetition(c, clock_now() - t0, false);
}

fz_status fzb_sweep_register(fzb_sweep *s, const fzb_sweep_args *a)
{
    s->min_time = a->min_time;
    s->t_start = clock_now();   /* the run starts right after the registrations */
    s->reps_expected += s->n_configs * (size_t)a->repetitions;
    for (size_t i = 0; i < s->n_configs; i++) {
        fzb_bench *b = fzb_register(s->configs[i].name, bench_config, &s->configs[i], NULL,
                                    NULL, 0);
        if (!b)
            return set_error(FZ_EINVAL, "benchmark '%s' registered twice "
                             "(a repeated --model, --batch, --threads or --spec?)",
                             s->configs[i].name);
        fzb_set_repetitions(b, a->repetitions);
        fzb_set_min_time(b, a->min_time);
        /* Each phase as a manual-time entry of its own in --benchmark_out files, so Google
         * Benchmark's compare.py can test the backward alone. */
        fzb_set_phase_counters(b, (const char *const[]){ "fwd_s", "bwd_s", "opt_s" },
                               (const char *const[]){ "forward", "backward", "optimizer" }, 3);
    }
    return FZ_OK;
}

static double phase_flops(const fz_flops *f, int phase)
{
    switch (phase) {
    case FWD: return f->fwd;
    case BWD: return f->bwd;
    case OPT: return f->opt;
    default: return f->fwd + f->bwd + f->opt;
    }
}

static double cut(double x, double x_none)
{
    return x_none > 0 ? 1.0 - x / x_none : NAN;
}

fz_status fzb_sweep_keep_samples(config *c, int phase, const double *v, size_t n)
{
    free(c->samples[phase]);
    c->samples[phase] = malloc(n * sizeof *v);
    if (!c->samples[phase])
        return set_error(FZ_ENOMEM, "out of memory for %zu samples", n);
    memcpy(c->samples[phase], v, n * sizeof *v);
    fzb_result r = { 0 };
    fzb_result_set_samples(&r, v, n);
    c->tmin[phase] = r.time_min_s;
    c->tmed[phase] = r.time_median_s;
    c->tmax[phase] = r.time_max_s;
    c->tmed_ci[phase] = r.time_median_ci;
    c->reps = (int)n;
    return FZ_OK;
}

/* Every repetition's time of each phase of configuration c, in repetition order. */
static fz_status collect_times(config *c, const fzb_results *r)
{
    static const char *const counter[N_PHASES] = { "fwd_s", "bwd_s", "opt_s", NULL };
    double *v = malloc((r->n ? r->n : 1) * sizeof *v);
    if (!v)
        return set_error(FZ_ENOMEM, "out of memory collecting %zu runs' times", r->n);
    c->reps = 0;
    fz_status st = FZ_OK;
    for (int p = 0; p < N_PHASES && st == FZ_OK; p++) {
        if (c->kind != KIND_STEP && p != STEP)   /* an epoch is timed whole */
            continue;
        size_t n = 0;
        for (size_t i = 0; i < r->n; i++) {
            const fzb_run *run = &r->runs[i];
            if (run->user != c || run->repetition < 0 || run->error)
                continue;
            double t = run->real_time_s;
            if (counter[p] && !fzb_run_counter(run, counter[p], &t))
                continue;
            v[n++] = t;
        }
        if (n == 0)
            break;
        st = fzb_sweep_keep_samples(c, p, v, n);
    }
    free(v);
    return st;
}

const config *fzb_sweep_none_of(const fzb_sweep *s, const config *c)
{
    for (size_t i = 0; i < s->n_configs; i++) {
        const config *o = &s->configs[i];
        if (o->bm == c->bm && o->threads == c->threads && o->kind == c->kind &&
            strcmp(o->spec, "none") == 0)
            return o->ran && o->reps > 0 ? o : NULL;
    }
    return NULL;
}

fz_status fzb_sweep_rows(fzb_sweep *s, const fzb_results *r, const fzb_limits *lim,
                         const fzb_context *ctx, fzb_csv *table)
{
    for (size_t i = 0; i < s->n_configs; i++) {
        fz_status st = collect_times(&s->configs[i], r);
        if (st != FZ_OK)
            return st;
    }
    return fzb_sweep_add_rows(s, lim, ctx, table);
}

fz_status fzb_sweep_add_rows(fzb_sweep *s, const fzb_limits *lim, const fzb_context *ctx,
                             fzb_csv *table)
{
    /* Every rank trains batch/R rows and runs the whole optimizer: the job's FLOPs and
     * bytes are R times the rank's, on R times the cores. */
    double R = s->ranks;
    for (size_t i = 0; i < s->n_configs; i++) {
        config *c = &s->configs[i];
        if (!c->ran || c->reps == 0)
            continue;
        const config *none = fzb_sweep_none_of(s, c);
        bool agree = c->planned.fwd == c->executed.fwd && c->planned.bwd == c->executed.bwd
                     && c->planned.opt == c->executed.opt;
        if (!agree && s->progress)
            fprintf(s->progress, "freeze_sweep: warning: %s: executed FLOPs differ from the "
                    "plan (the CSV has both)\n", c->name);
        for (int p = 0; p < N_PHASES; p++) {
            if (c->kind != KIND_STEP && p != STEP)
                continue;
            c->flop_cut[p] = none ? cut(phase_flops(&c->planned, p), phase_flops(&none->planned, p)) : NAN;
            c->time_cut[p] = none ? cut(c->tmed[p], none->tmed[p]) : NAN;
            /* `none` against itself is a cut of exactly 0, not an interval around it. */
            bool self = none == c && c->reps >= FZB_MIN_SAMPLES;
            c->time_cut_ci[p] = none && !self
                ? fzb_cut_ci(c->samples[p], (size_t)c->reps, none->samples[p],
                             (size_t)none->reps)
                : (fzb_interval){ self ? 0 : NAN, self ? 0 : NAN };
            bool bwd = p == BWD || p == STEP;
            fzb_result row = {
                .bench = "freeze_sweep", .impl = "freezebench", .model = c->bm->arg->name,
                .batch = c->bm->batch, .freeze_spec = c->spec,
                .trainable_params = (double)c->trainable, .frozen_params = (double)c->frozen,
                .threads = c->threads,
                .phase = c->kind == KIND_STEP ? phase_names[p]
                                              : fzb_sweep_kind_names[c->kind],
                .flops_planned = R * phase_flops(&c->planned, p),
                .flops_executed = R * phase_flops(&c->executed, p),
                /* An epoch's rows carry its whole FLOPs, with no backward split. */
                .dgrad_flops_planned = bwd ? R * c->bwd_planned.dgrad : 0,
                .dgrad_flops_executed = bwd ? R * c->bwd_executed.dgrad : 0,
                .wgrad_flops_planned = bwd ? R * c->bwd_planned.wgrad : 0,
                .wgrad_flops_executed = bwd ? R * c->bwd_executed.wgrad : 0,
                .time_min_s = c->tmin[p], .time_median_s = c->tmed[p], .time_max_s = c->tmax[p],
                .repetitions = c->reps, .samples = c->samples[p], .time_median_ci = c->tmed_ci[p],
                /* What the optimizer phase's own updates must move: SGD with momentum
                 * reads p, g, buf and writes p, buf (results/README.md). */
                .bytes = p == OPT ? R * 5.0 * sizeof(float) *
                                    (double)c->update.optimizer_floats : 0,
                .peak_gflops = lim->peak_gflops_per_core * c->threads * R,
                .peak_isa = lim->fma_isa,
                .bandwidth_gbytes_per_s = lim->bandwidth_gbytes_per_s,
                .memory_bound = p == OPT,
                .flop_cut = c->flop_cut[p], .time_cut = c->time_cut[p],
                .time_cut_ci = c->time_cut_ci[p],
                .activation_bytes = (double)c->mem.activations,
                .cache_bytes = c->kind == KIND_EPOCH_CACHED ? (double)c->cache_bytes : 0,
                .ranks = s->ranks, .allreduce_bytes_planned = c->ar_planned,
                .allreduce_bytes_executed = c->ar_executed, .comm_time_s = c->comm_s,
                .comm_hidden_s = c->hidden_s,
            };
            fz_status st = fzb_result_add(table, ctx, &row);
            if (st != FZ_OK)
                return st;
        }
    }
    return FZ_OK;
}
