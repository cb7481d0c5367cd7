/*
 * The optimizer phase (optimizer.h): SGD on the tensors the plan trains, each chunk
 * copied aside before it is updated and checked after, so that an update which makes a
 * value NaN or infinite is undone exactly and the step reports it.
 */
#include <math.h>
#include <string.h>

#include "error.h"
#include "finite.h"
#include "optimizer.h"
#include "parallel.h"

/* Where tensor i's pre-update copy lives: at its gradient's offset, momentum after. */
static float *undo_of(const sgd_update *u, size_t i)
{
    return u->undo_arena + (u->grad[i] - u->grad_arena);
}

/* Floats of a tensor the optimizer updates at a time: the chunk's parameters, gradient,
 * momentum and their copies aside (5 × 8 KiB) stay in L1/L2 between the copy, the update
 * and the check.  Done slice-wide, each of the three passes went to memory again: the
 * 8×1024 MLP's optimizer phase took about twice the time of the update alone. */
#define OPT_CHUNK 2048

/* SGD on every tensor the plan trains, each split by element over the team (one parallel
 * region for all of them); every thread counts the FLOPs of its own slices.  Each chunk
 * is copied aside first and checked after, while it is still in cache; returns whether
 * some value of this thread's slices became NaN or infinite.  SGD is element-wise, so
 * the chunking changes no result. */
static int optimizer_slice(const sgd_update *u, const fz_kernels *k, int ith, int team)
{
    fz_model *m = u->m;
    int bad = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!plan_trains(u->plan, i))
            continue;
        fz_range r = split_range(m->tensors[i].numel, ith, team);
        for (size_t at = r.begin; at < r.end; at += OPT_CHUNK) {
            size_t n = r.end - at < OPT_CHUNK ? r.end - at : OPT_CHUNK;
            float *p = m->tensors[i].data + at, *keep = undo_of(u, i) + at;
            float *mom = u->opt.momentum != 0.0f ? u->mom[i] + at : NULL;
            /* Streamed past the caches: read back only to undo, and on the 8×1024 MLP
             * 67 MB a step that a cached copy read in (and evicted data for) first. */
            k->copy_aside(keep, p, n);
            if (mom)
                k->copy_aside(keep + u->undo_half, mom, n);
            k->sgd(p, u->grad[i] + at, mom, n, u->opt.lr, u->opt.momentum,
                   u->opt.weight_decay, u->flops);
            bad |= first_nonfinite(p, n) < n || (mom && first_nonfinite(mom, n) < n);
        }
    }
    return bad;
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

fz_status sgd_update_run(const sgd_update *u, const fz_exec *x)
{
    const fz_kernels *k = x->k;
    int nth = threads_for(u->grad_floats, x->gemm.threads);
    int bad = 0;
    if (nth <= 1) {
        bad = optimizer_slice(u, k, 0, 1);
    } else {
#ifdef _OPENMP
#pragma omp parallel num_threads(nth) reduction(|:bad)
        bad |= optimizer_slice(u, k, thread_num(), thread_count());
#endif
    }
    /* The update wrote (or undid) every trained tensor: copies of them are stale. */
    for (size_t i = 0; i < u->m->n_tensors; i++)
        if (plan_trains(u->plan, i))
            model_touch(u->m, i);
    return bad ? undo_update(u) : FZ_OK;
}
