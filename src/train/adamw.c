/* The AdamW update (adamw.h): copied aside and checked, chunk by chunk. */
#include <math.h>
#include <string.h>

#include "adamw.h"
#include "elementwise.h"
#include "error.h"
#include "finite.h"
#include "parallel.h"

/* Floats of a tensor updated at a time: its p, g, m, v and the three copies aside
 * (7 × 8 KiB) stay in L2 between the copy, the update and the check. */
#define ADAMW_CHUNK 2048

static float *undo_of(const adamw_update *u, size_t i)
{
    return u->undo_arena + (u->grad[i] - u->grad_arena);
}

typedef enum { PASS_SCAN, PASS_UPDATE, PASS_CHECKED_UPDATE } adamw_pass;

/* This thread's slice of every trained tensor: the scan of g and p, the update, or the
 * update copied aside chunk by chunk; whether some value went bad. */
/* What one pass of the team runs (team_pass's context). */
typedef struct {
    const adamw_update *u;
    const fz_kernels *k;
    adamw_pass pass;
} adamw_job;

static bool adamw_slice(void *ctx, int ith, int team)
{
    const adamw_job *job = ctx;
    const adamw_update *u = job->u;
    const fz_kernels *k = job->k;
    adamw_pass pass = job->pass;
    fz_model *m = u->m;
    bool bad = false;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!plan_trains(u->plan, i))
            continue;
        adamw_maxima *mx = &u->maxima[i];
        fz_range r = split_range(m->tensors[i].numel, ith, team);
        if (pass == PASS_SCAN) {
            merge_max_bits(&mx->scan_g, magnitude_bits(k->abs_max(u->grad[i] + r.begin,
                                                             r.end - r.begin)), team);
            merge_max_bits(&mx->scan_p, magnitude_bits(k->abs_max(m->tensors[i].data + r.begin,
                                                             r.end - r.begin)), team);
            continue;
        }
        adamw_step s = adamw_step_make(u->opt.lr, u->opt.beta1, u->opt.beta2, u->opt.eps,
                                       u->opt.weight_decay, u->steps[i] + 1);
        size_t chunk = pass == PASS_UPDATE ? r.end - r.begin : ADAMW_CHUNK;
        uint32_t wrote_v = 0;
        for (size_t at = r.begin; at < r.end; at += chunk) {
            size_t c = r.end - at < chunk ? r.end - at : chunk;
            float *p = m->tensors[i].data + at, *g = u->grad[i] + at;
            float *ma = u->exp_avg[i] + at, *va = u->exp_avg_sq[i] + at;
            if (pass == PASS_CHECKED_UPDATE) {
                float *keep = undo_of(u, i) + at;
                k->copy_aside(keep, p, c);
                k->copy_aside(keep + u->third, ma, c);
                k->copy_aside(keep + 2 * u->third, va, c);
            }
            sgd_maxima w = k->adamw(p, g, ma, va, c, &s, u->flops);
            bad = bad || !isfinite(w.p) || !isfinite(w.buf);
            wrote_v = max_bits(wrote_v, magnitude_bits(w.buf));
        }
        merge_max_bits(&mx->wrote_v, wrote_v, team);
    }
    return bad;
}

/* One pass over a team of nth threads; whether some value went bad. */
static bool adamw_pass_run(const adamw_update *u, const fz_kernels *k, adamw_pass pass,
                           int nth)
{
    return team_pass(nth, adamw_slice, &(adamw_job){ u, k, pass });
}

/* The first moment's bound after this step: |m'| <= max(|m|, |g|), with room for the
 * lerp's three roundings. */
static double first_moment_bound(const adamw_maxima *mx)
{
    double g = (double)float_of_bits(mx->scan_g), m = (double)mx->m;
    return (g > m ? g : m) * (1.0 + 0x1p-21);
}

/* Whether AdamW under opt keeps every value of tensor i's update finite (update_bound.h's
 * argument): v' <= b2·V + (1-b2)·G², sqrt(v')/bc2 + eps >= eps, so the step is at most
 * step_size·M'/eps and |p'| <= P·|decay| + that.  Written so that a NaN fails. */
static bool adamw_bounded(const adamw_update *u, const adamw_maxima *mx, uint64_t t)
{
    fz_adamw o = u->opt;
    if (!(o.eps > 0.0f))
        return false;   /* 0/0 where v and m are 0: nothing bounds it */
    double g = (double)float_of_bits(mx->scan_g), p = (double)float_of_bits(mx->scan_p);
    double v = (double)o.beta2 * mx->v + (1.0 - (double)o.beta2) * g * g;
    double step_size = (double)o.lr / (1.0 - pow((double)o.beta1, (double)t));
    double decay = fabs(1.0 - (double)o.lr * o.weight_decay);
    double p_next = p * decay + step_size * first_moment_bound(mx) / (double)o.eps;
    return g * g <= UPDATE_BOUND_LIMIT && v <= UPDATE_BOUND_LIMIT &&
           p_next <= UPDATE_BOUND_LIMIT && step_size <= UPDATE_BOUND_LIMIT;
}

/* Puts back every trained tensor and its state, after naming the first bad value. */
static fz_status undo(const adamw_update *u)
{
    fz_model *m = u->m;
    const char *name = "?", *what = "parameter";
    size_t at = 0;
    float value = NAN;
    for (size_t i = m->n_tensors; i-- > 0;) {   /* backwards: the first bad one wins */
        if (!plan_trains(u->plan, i))
            continue;
        size_t n = m->tensors[i].numel;
        size_t bad_p = first_nonfinite(m->tensors[i].data, n);
        size_t bad_v = first_nonfinite(u->exp_avg_sq[i], n);
        if (bad_p < n || bad_v < n) {
            name = m->tensors[i].name;
            what = bad_p < n ? "parameter" : "second moment (exp_avg_sq) of";
            at = bad_p < n ? bad_p : bad_v;
            value = bad_p < n ? m->tensors[i].data[at] : u->exp_avg_sq[i][at];
        }
        float *keep = undo_of(u, i);
        memcpy(m->tensors[i].data, keep, n * sizeof(float));
        memcpy(u->exp_avg[i], keep + u->third, n * sizeof(float));
        memcpy(u->exp_avg_sq[i], keep + 2 * u->third, n * sizeof(float));
    }
    return set_error(FZ_ENONFINITE, "fz_train_step: step %llu: the AdamW update made %s "
                     "%s[%zu] %g (the model diverged; try a lower learning rate, now %g); "
                     "parameters and optimizer state left as after step %llu",
                     (unsigned long long)u->step, what, name, at, (double)value,
                     (double)u->opt.lr, (unsigned long long)u->step - 1);
}

fz_status adamw_update_run(const adamw_update *u, const fz_exec *x, bool *checked)
{
    const fz_kernels *k = x->k;
    fz_model *m = u->m;
    int nth = threads_for(u->grad_floats, x->gemm.threads);
    for (size_t i = 0; i < m->n_tensors; i++)
        if (plan_trains(u->plan, i))
            u->maxima[i].scan_g = u->maxima[i].scan_p = u->maxima[i].wrote_v = 0;
    bool bounded = !u->always_check;
    if (bounded)
        adamw_pass_run(u, k, PASS_SCAN, nth);
    for (size_t i = 0; bounded && i < m->n_tensors; i++)
        if (plan_trains(u->plan, i))
            bounded = adamw_bounded(u, &u->maxima[i], u->steps[i] + 1);
    *checked = !bounded;
    /* Bounded, nothing can go bad: the update runs whole, with nothing copied. */
    bool bad = adamw_pass_run(u, k, bounded ? PASS_UPDATE : PASS_CHECKED_UPDATE, nth);
    if (bad) {
        fz_status st = undo(u);
        for (size_t i = 0; i < m->n_tensors; i++)
            if (plan_trains(u->plan, i))
                model_touch(m, i);   /* rewritten (with what it held): copies are stale */
        return st;
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!plan_trains(u->plan, i))
            continue;
        adamw_maxima *mx = &u->maxima[i];
        /* The scan measured |g| whichever path the update took; without one
         * (always_check) the bound is unknown, and stays so. */
        mx->m = u->always_check ? INFINITY : (float)first_moment_bound(mx);
        mx->v = float_of_bits(mx->wrote_v);
        u->steps[i]++;
        model_touch(m, i);
    }
    return FZ_OK;
}
