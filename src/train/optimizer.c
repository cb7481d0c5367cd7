/*
 * The optimizer phase (optimizer.h): SGD on the tensors the plan trains.  A first pass
 * reads every gradient (and each parameter tensor written from outside since the last
 * update) for its largest magnitude; where update_bound.h shows that no value can become
 * NaN or infinite, the update runs with nothing copied and nothing checked after.
 * Otherwise each chunk is copied aside before it is updated and checked after, so that
 * an update which makes a value NaN or infinite is undone exactly and the step reports
 * it.
 */
#include <math.h>
#include <string.h>

#include "elementwise.h"
#include "error.h"
#include "finite.h"
#include "optimizer.h"
#include "parallel.h"

/* Whether this pass updates tensor i: trained, and not already by the backward. */
static bool updates(const sgd_update *u, size_t i)
{
    return plan_trains(u->plan, i) && !(u->fused && u->fused[i]);
}

/* Where tensor i's pre-update copy lives: at its gradient's offset, momentum after. */
static float *undo_of(const sgd_update *u, size_t i)
{
    return u->undo_arena + (u->grad[i] - u->grad_arena);
}

/* Floats of a tensor the optimizer updates at a time on the checked path: the chunk's
 * parameters, gradient, momentum and their copies aside (5 × 8 KiB) stay in L1/L2
 * between the copy, the update and the check.  Done slice-wide, each of the three passes
 * went to memory again: the 8×1024 MLP's optimizer phase took about twice the time of
 * the update alone. */
#define OPT_CHUNK 2048

/* What the optimizer passes do to one thread's slice of tensor i. */
typedef enum { PASS_SCAN, PASS_UPDATE, PASS_CHECKED_UPDATE } opt_pass;

/* One pass over this thread's slices of every tensor the plan trains, each tensor split
 * by element over the team (one parallel region for all of them); each thread merges
 * its slices' maxima into the tensor's step slots.  PASS_SCAN reads the gradient and,
 * where the tracked max |p| is stale, p.  PASS_UPDATE runs SGD; PASS_CHECKED_UPDATE
 * copies each chunk aside first, while it is in cache.  SGD is element-wise, so neither
 * the split nor the chunking changes a result. */
/* What one pass of the team runs (team_pass's context). */
typedef struct {
    const sgd_update *u;
    const fz_kernels *k;
    opt_pass pass;
} opt_job;

static bool optimizer_slice(void *ctx, int ith, int team)
{
    const opt_job *job = ctx;
    const sgd_update *u = job->u;
    const fz_kernels *k = job->k;
    opt_pass pass = job->pass;
    fz_model *m = u->m;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!updates(u, i))
            continue;
        tensor_maxima *mx = &u->maxima[i];
        fz_range r = split_range(m->tensors[i].numel, ith, team);
        float *p = m->tensors[i].data + r.begin, *g = u->grad[i] + r.begin;
        float *mom = u->opt.momentum != 0.0f ? u->mom[i] + r.begin : NULL;
        size_t n = r.end - r.begin;
        if (pass == PASS_SCAN) {
            merge_max_bits(&mx->step_g, magnitude_bits(k->abs_max(g, n)), team);
            if (!maxima_current(mx, m, i))
                merge_max_bits(&mx->step_p, magnitude_bits(k->abs_max(p, n)), team);
            continue;
        }
        uint32_t max_p = 0, max_mom = 0;
        for (size_t at = 0; at < n; at += pass == PASS_UPDATE ? n : OPT_CHUNK) {
            size_t c = pass == PASS_UPDATE || n - at < OPT_CHUNK ? n - at : OPT_CHUNK;
            float *buf = mom ? mom + at : NULL;
            if (pass == PASS_CHECKED_UPDATE) {
                float *keep = undo_of(u, i) + r.begin + at;
                /* Streamed past the caches: read back only to undo, and on the 8×1024
                 * MLP 67 MB a step that a cached copy read in (and evicted data for)
                 * first. */
                k->copy_aside(keep, p + at, c);
                if (buf)
                    k->copy_aside(keep + u->undo_half, buf, c);
            }
            sgd_maxima w = k->sgd(p + at, g + at, buf, c, u->opt.lr, u->opt.momentum,
                                  u->opt.weight_decay, u->flops);
            max_p = max_bits(max_p, magnitude_bits(w.p));
            max_mom = max_bits(max_mom, magnitude_bits(w.buf));
        }
        merge_max_bits(&mx->step_p, max_p, team);
        merge_max_bits(&mx->step_mom, max_mom, team);
    }
    return false;   /* a bad value shows in the maxima merged above, judged by the caller */
}

/* optimizer_slice over a team of nth threads. */
static void optimizer_pass(const sgd_update *u, const fz_kernels *k, opt_pass pass,
                           int nth)
{
    team_pass(nth, optimizer_slice, &(opt_job){ u, k, pass });
}

/* Puts back every tensor the plan trains, and its momentum, as they were before the update,
 * after naming (in the message) the first value that went bad. */
static fz_status undo_update(const sgd_update *u)
{
    fz_model *m = u->m;
    const char *name = "?", *what = "parameter";
    size_t at = 0;
    float value = NAN;
    for (size_t i = m->n_tensors; i-- > 0;) {   /* backwards: the first bad one wins */
        if (!plan_trains(u->plan, i))
            continue;
        size_t n = m->tensors[i].numel;
        float *mom = u->opt.momentum != 0.0f ? u->mom[i] : NULL;
        size_t bad_p = first_nonfinite(m->tensors[i].data, n);
        size_t bad_m = mom ? first_nonfinite(mom, n) : n;
        if (bad_p < n || bad_m < n) {
            name = m->tensors[i].name;
            what = bad_p < n ? "parameter" : "momentum of";
            at = bad_p < n ? bad_p : bad_m;
            value = bad_p < n ? m->tensors[i].data[at] : mom[at];
        }
        memcpy(m->tensors[i].data, undo_of(u, i), n * sizeof(float));
        if (mom)
            memcpy(mom, undo_of(u, i) + u->undo_half, n * sizeof(float));
    }
    return set_error(FZ_ENONFINITE, "fz_train_step: step %llu: the update made %s %s[%zu] "
                     "%g (the model diverged; try a lower learning rate, now %g); "
                     "parameters and momentum left as after step %llu",
                     (unsigned long long)u->step, what, name, at, (double)value,
                     (double)u->opt.lr, (unsigned long long)u->step - 1);
}

/* The whole update of a plan under UPDATE_BOUND_MIN_FLOATS, on the calling thread (too
 * little work for a team): each tensor copied aside, updated by sgd_plain and checked
 * while it lies in L1, and undone, all of them, if a value went bad.  No maxima are kept:
 * should the plan grow, its first update scans p, and the unknown momentum fails the
 * bound once, so that the checked update measures it. */
static fz_status small_update(const sgd_update *u, const fz_kernels *k)
{
    fz_model *m = u->m;
    bool bad = false;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!plan_trains(u->plan, i))
            continue;
        size_t n = m->tensors[i].numel;
        float *p = m->tensors[i].data, *keep = undo_of(u, i);
        float *mom = u->opt.momentum != 0.0f ? u->mom[i] : NULL;
        memcpy(keep, p, n * sizeof(float));
        if (mom)
            memcpy(keep + u->undo_half, mom, n * sizeof(float));
        k->sgd_plain(p, u->grad[i], mom, n, u->opt.lr, u->opt.momentum, u->opt.weight_decay,
                     u->flops);
        bad = bad || first_nonfinite(p, n) < n || (mom && first_nonfinite(mom, n) < n);
        /* The update wrote the tensor: copies of it are stale. */
        model_touch(m, i);
        u->maxima[i].p_known = false;
        u->maxima[i].mom = INFINITY;
    }
    return bad ? undo_update(u) : FZ_OK;
}

fz_status sgd_update_run(const sgd_update *u, const fz_exec *x, bool *checked)
{
    const fz_kernels *k = x->k;
    fz_model *m = u->m;
    size_t left = u->grad_floats;   /* what this pass updates */
    for (size_t i = 0; u->fused && i < m->n_tensors; i++)
        left -= u->fused[i] ? m->tensors[i].numel : 0;
    int nth = threads_for(left, x->gemm.threads);

    /* A small update (the seed network trains 6 floats) is checked rather than bounded:
     * there the scan and the bookkeeping per tensor cost more than the copy aside and
     * the check they save, which stay in L1. */
    if (u->grad_floats < UPDATE_BOUND_MIN_FLOATS) {
        *checked = true;
        return small_update(u, k);
    }
    /* Proven before the backward, the update needs no scan of its own. */
    bool bounded = u->proven || !u->always_check, scanned = bounded && !u->proven;
    for (size_t i = 0; scanned && i < m->n_tensors; i++)
        if (plan_trains(u->plan, i))
            u->maxima[i].step_g = u->maxima[i].step_p = 0;
    if (scanned)
        optimizer_pass(u, k, PASS_SCAN, nth);
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!updates(u, i))
            continue;
        tensor_maxima *mx = &u->maxima[i];
        if (scanned) {
            /* A stale max |p| is now current: the scan changed nothing, whatever
             * follows. */
            if (!maxima_current(mx, m, i))
                *mx = (tensor_maxima){ .p = float_of_bits(mx->step_p), .p_known = true,
                                       .p_at = m->tensors[i].changed_at, .mom = mx->mom,
                                       .step_g = mx->step_g };
            bounded = bounded && update_bounded(mx->p, float_of_bits(mx->step_g),
                                                u->opt.momentum != 0.0f ? mx->mom : 0.0f,
                                                u->opt);
        }
        mx->step_p = mx->step_mom = 0;   /* the update's maxima merge from here */
    }

    optimizer_pass(u, k, bounded ? PASS_UPDATE : PASS_CHECKED_UPDATE, nth);
    /* Bounded, nothing can have gone bad (and nothing was copied aside to undo). */
    bool bad = false;
    for (size_t i = 0; !bounded && i < m->n_tensors; i++)
        if (plan_trains(u->plan, i))
            bad = bad || !isfinite(float_of_bits(u->maxima[i].step_p)) ||
                  !isfinite(float_of_bits(u->maxima[i].step_mom));
    fz_status st = bad ? undo_update(u) : FZ_OK;
    /* The update wrote (or undid) every trained tensor: copies of them are stale.  The
     * maxima follow what the tensors now hold: the update's, or as before it. */
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!plan_trains(u->plan, i))
            continue;
        tensor_maxima *mx = &u->maxima[i];
        model_touch(m, i);
        mx->p_at = m->tensors[i].changed_at;
        if (!bad) {
            /* The update wrote every element: its maximum is the tensor's. */
            mx->p = float_of_bits(mx->step_p);
            mx->p_known = true;
            if (u->opt.momentum != 0.0f)
                mx->mom = float_of_bits(mx->step_mom);
        }
    }
    *checked = !bounded;
    return st;
}
