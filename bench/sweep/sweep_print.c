/* The sweep's table for people (sweep.h, fzb_sweep_print), from the configurations'
 * times and counts; split from sweep.c, which builds and times them. */
#include "sweep_impl.h"

#include <math.h>
#include <string.h>

#include "units.h"

/* The 1-thread configuration of c's model and spec, if it ran. */
static const config *one_thread_twin(const fzb_sweep *s, const config *c)
{
    for (size_t i = 0; i < s->n_configs; i++) {
        const config *o = &s->configs[i];
        if (o->bm == c->bm && o->threads == 1 && strcmp(o->spec, c->spec) == 0)
            return o->ran && o->reps > 0 ? o : NULL;
    }
    return NULL;
}

/* More threads, more time: a neighbour took cores, or there is too little work per
 * thread; either way the row says nothing about scaling. */
static bool slower_than_one_thread(const fzb_sweep *s, const config *c)
{
    const config *one = c->threads > 1 ? one_thread_twin(s, c) : NULL;
    return one && c->tmed[STEP] > one->tmed[STEP];
}

/* Too wide to be useful: the backward's or the step's interval (of the cut, or of the
 * median for `none`, whose cut is 0 by definition). */
static bool config_too_wide(const fzb_sweep *s, const config *c)
{
    if (fzb_sweep_none_of(s, c) == c)
        return fzb_time_ci_too_wide(c->tmed_ci[BWD], c->tmed[BWD]) ||
               fzb_time_ci_too_wide(c->tmed_ci[STEP], c->tmed[STEP]);
    return fzb_cut_ci_too_wide(c->time_cut_ci[BWD]) || fzb_cut_ci_too_wide(c->time_cut_ci[STEP]);
}

/* N threads against 1: the step's speed-up (1-thread median / N-thread median) with its
 * interval, "1.84 [1.79–1.90]"; "-" on 1 thread or without a 1-thread twin. */
static void fmt_speedup(char *buf, size_t size, const fzb_sweep *s, const config *c)
{
    const config *one = c->threads > 1 ? one_thread_twin(s, c) : NULL;
    if (!one || !(c->tmed[STEP] > 0)) {
        snprintf(buf, size, "-");
        return;
    }
    fzb_interval r = fzb_ratio_ci(one->samples[STEP], (size_t)one->reps, c->samples[STEP],
                                  (size_t)c->reps);
    double x = one->tmed[STEP] / c->tmed[STEP];
    if (isnan(r.lo))
        snprintf(buf, size, "%.2f [n/a]", x);
    else
        snprintf(buf, size, "%.2f [%.2f–%.2f]", x, r.lo, r.hi);
}

static void print_config(const fzb_sweep *s, const config *d, FILE *out)
{
    char trainable[FZB_UNIT_TEXT], bwd_flop[FZB_UNIT_TEXT], flop_cut[FZB_UNIT_TEXT],
         bwd_time[FZB_UNIT_TEXT], bwd_ci[FZB_UNIT_TEXT], time_cut[FZB_UNIT_TEXT],
         step[FZB_UNIT_TEXT], step_ci[FZB_UNIT_TEXT], step_cut[FZB_UNIT_TEXT],
         speedup[FZB_UNIT_TEXT], act[FZB_UNIT_TEXT];
    fzb_fmt_si(trainable, sizeof trainable, (double)d->trainable, "");
    fzb_fmt_si(bwd_flop, sizeof bwd_flop, s->ranks * d->planned.bwd, "FLOP");
    fzb_fmt_percent(flop_cut, sizeof flop_cut, d->flop_cut[BWD]);
    fzb_fmt_si(bwd_time, sizeof bwd_time, d->tmed[BWD], "s");
    fzb_fmt_pm(bwd_ci, sizeof bwd_ci, d->tmed[BWD], d->tmed_ci[BWD].lo, d->tmed_ci[BWD].hi);
    /* `none` is every cut's reference: its own cut is 0 by definition. */
    bool baseline = fzb_sweep_none_of(s, d) == d;
    fzb_fmt_cut_ci(time_cut, sizeof time_cut, d->time_cut[BWD], d->time_cut_ci[BWD].lo,
                   d->time_cut_ci[BWD].hi);
    fzb_fmt_si(step, sizeof step, d->tmed[STEP], "s");
    fzb_fmt_pm(step_ci, sizeof step_ci, d->tmed[STEP], d->tmed_ci[STEP].lo,
               d->tmed_ci[STEP].hi);
    fzb_fmt_cut_ci(step_cut, sizeof step_cut, d->time_cut[STEP], d->time_cut_ci[STEP].lo,
                   d->time_cut_ci[STEP].hi);
    if (baseline) {
        snprintf(time_cut, sizeof time_cut, "(baseline)");
        snprintf(step_cut, sizeof step_cut, "(baseline)");
    }
    fmt_speedup(speedup, sizeof speedup, s, d);
    fzb_fmt_bytes(act, sizeof act, (double)d->mem.activations);
    fprintf(out, "%-12s %9s %*s %8s %*s %*s %*s %*s %*s %*s %*s %*s %s%s\n", d->spec,
            trainable, fzb_pad(bwd_flop, 11), bwd_flop, flop_cut, fzb_pad(bwd_time, 9),
            bwd_time, fzb_pad(bwd_ci, 6), bwd_ci, fzb_pad(time_cut, 19), time_cut,
            fzb_pad(step, 9), step, fzb_pad(step_ci, 6), step_ci, fzb_pad(step_cut, 19),
            step_cut, fzb_pad(speedup, 17), speedup, fzb_pad(act, 10), act,
            config_too_wide(s, d) ? "!" : "", slower_than_one_thread(s, d) ? "<" : "");
}

/* The epoch configuration of this kind with c's model, spec and threads, if it ran. */
static const config *kind_twin(const fzb_sweep *s, const config *c, config_kind k)
{
    for (size_t i = 0; i < s->n_configs; i++) {
        const config *o = &s->configs[i];
        if (o->bm == c->bm && o->threads == c->threads && o->kind == k && o->spec == c->spec)
            return o->ran && o->reps > 0 ? o : NULL;
    }
    return NULL;
}

/* Per spec: an epoch without and with the cache, each against `none`'s epoch. */
static void print_epochs(const fzb_sweep *s, FILE *out)
{
    for (size_t i = 0; i < s->n_configs; i++) {
        const config *c = &s->configs[i];
        if (c->kind != KIND_EPOCH || !c->ran || c->reps == 0)
            continue;
        const config *none = fzb_sweep_none_of(s, c), *cached = kind_twin(s, c, KIND_EPOCH_CACHED);
        if (!none || !cached)
            continue;
        if (c == none)
            fprintf(out, "\nepochs of %zu samples, model %s, batch %zu, %d thread%s (ratio = "
                    "x / epoch of none)\n%-12s %9s %7s %12s %7s %10s\n", c->bm->n_epoch,
                    c->bm->arg->name, c->bm->batch, c->threads, c->threads == 1 ? "" : "s",
                    "spec", "epoch", "ratio", "epoch_cached", "ratio", "cache");
        char e[FZB_UNIT_TEXT], ec[FZB_UNIT_TEXT], mem[FZB_UNIT_TEXT];
        fzb_fmt_si(e, sizeof e, c->tmed[STEP], "s");
        fzb_fmt_si(ec, sizeof ec, cached->tmed[STEP], "s");
        fzb_fmt_bytes(mem, sizeof mem, (double)cached->cache_bytes);
        fprintf(out, "%-12s %*s %7.3f %*s %7.3f %*s\n", c->spec, fzb_pad(e, 9), e,
                c->tmed[STEP] / none->tmed[STEP], fzb_pad(ec, 12), ec,
                cached->tmed[STEP] / none->tmed[STEP], fzb_pad(mem, 10), mem);
    }
}

/* Data parallel: per spec the gradient bytes each rank sends per step against the
 * trainable parameters, each as a cut against `none`, and the time inside the allreduce. */
static void print_comm(const fzb_sweep *s, const config *c, FILE *out)
{
    const config *none = fzb_sweep_none_of(s, c);
    fprintf(out, "allreduce per step and rank (comm: median over the steps of the slowest "
            "rank's; hidden: overlapped with the backward)\n%-12s %9s %11s %9s %9s %9s %9s\n",
            "spec", "trainable", "bytes", "param cut", "byte cut", "comm", "hidden");
    for (size_t j = 0; j < s->n_configs; j++) {
        const config *d = &s->configs[j];
        if (d->bm != c->bm || d->threads != c->threads || d->kind != KIND_STEP || !d->ran ||
            d->reps == 0)
            continue;
        char trainable[FZB_UNIT_TEXT], bytes[FZB_UNIT_TEXT], pcut[FZB_UNIT_TEXT],
             bcut[FZB_UNIT_TEXT], comm[FZB_UNIT_TEXT], hidden[FZB_UNIT_TEXT];
        fzb_fmt_si(trainable, sizeof trainable, (double)d->trainable, "");
        fzb_fmt_bytes(bytes, sizeof bytes, d->ar_executed);
        fzb_fmt_percent(pcut, sizeof pcut, none && none->trainable
                        ? 1.0 - (double)d->trainable / (double)none->trainable : NAN);
        fzb_fmt_percent(bcut, sizeof bcut, none && none->ar_executed > 0
                        ? 1.0 - d->ar_executed / none->ar_executed : NAN);
        fzb_fmt_si(comm, sizeof comm, d->comm_s, "s");
        fzb_fmt_si(hidden, sizeof hidden, d->hidden_s, "s");
        fprintf(out, "%-12s %9s %*s %9s %9s %*s %*s\n", d->spec, trainable,
                fzb_pad(bytes, 11), bytes, pcut, bcut, fzb_pad(comm, 9), comm,
                fzb_pad(hidden, 9), hidden);
    }
}

void fzb_sweep_print(const fzb_sweep *s, FILE *out)
{
    size_t wide = 0, slower = 0;
    for (size_t i = 0; i < s->n_configs; i++) {
        const config *c = &s->configs[i];
        bool first_of_group = true;   /* configurations are spec-major: find each group once */
        for (size_t j = 0; j < i; j++)
            first_of_group &= !(s->configs[j].bm == c->bm && s->configs[j].threads == c->threads);
        if (!first_of_group)
            continue;
        if (s->ranks > 1)
            fprintf(out, "\nmodel %s, global batch %zu on %d ranks (%zu rows each), %d "
                    "thread%s per rank (step: the slowest rank's; FLOPs of all ranks)",
                    c->bm->arg->name, c->bm->batch, s->ranks, c->bm->batch / (size_t)s->ranks,
                    c->threads, c->threads == 1 ? "" : "s");
        else
            fprintf(out, "\nmodel %s, batch %zu, %d thread%s", c->bm->arg->name, c->bm->batch,
                    c->threads, c->threads == 1 ? "" : "s");
        fprintf(out, " (medians of %d repetitions, ± and [ ]: 95%% intervals; cut = 1 - "
                "x/x_none)\n", c->reps);
        fprintf(out, "%-12s %9s %11s %8s %9s %6s %19s %9s %6s %19s %17s %10s\n", "spec",
                "trainable", "bwd FLOP", "FLOP cut", "bwd time", "", "bwd time cut", "step",
                "", "step cut", "vs 1 thread", "act mem");
        for (size_t j = i; j < s->n_configs; j++) {
            const config *d = &s->configs[j];
            if (d->bm != c->bm || d->threads != c->threads || d->kind != KIND_STEP)
                continue;
            if (!d->ran || d->reps == 0) {
                fprintf(out, "%-12s (did not run)\n", d->spec);
                continue;
            }
            print_config(s, d, out);
            wide += config_too_wide(s, d);
            slower += slower_than_one_thread(s, d);
        }
        if (s->ranks > 1)
            print_comm(s, c, out);
    }
    print_epochs(s, out);
    if (wide)
        fprintf(out, "\n! %zu row%s whose interval is too wide to be useful: the backward's or "
                "the step's cut wider than ±3 points (for none: its median wider than ±5%%), "
                "or no interval (fewer than %d repetitions); rerun with more --repetitions "
                "before trusting %s\n", wide, wide == 1 ? "" : "s", FZB_MIN_SAMPLES,
                wide == 1 ? "it" : "them");
    if (slower)
        fprintf(out, "%s< %zu row%s slower on N threads than on 1 thread of the same model and "
                "spec: a noisy neighbour on the cores, or too little work to split\n",
                wide ? "" : "\n", slower, slower == 1 ? "" : "s");
}
